"""Explorer states drawn ahead of time for the static site: grid, thinning, files, manifest."""

import io
import json

import ipywidgets as w
import matplotlib.pyplot as plt
import pytest

from gdlessons.display.explorer import Explorer
from gdlessons.display.frames import (
    FRAME_DENSITY,
    control_kind,
    control_values,
    export_frames,
    grid,
)
from gdlessons.display.plots import new_axes
from gdlessons.display.sizes import DENSITY


def make(max_k=9):
    def draw(k, log, kind):
        fig, ax = new_axes()
        ax.plot(range(k), ls="-" if kind == "a" else "--")
        ax.set_yscale("log" if log else "linear")
        return fig

    controls = {
        "k": w.IntSlider(value=3, min=2, max=max_k, description="points"),
        "log": w.Checkbox(value=False, description="log scale"),
        "kind": w.Dropdown(options=[("solid", "a"), ("dashed", "b")], value="a"),
    }
    return Explorer(draw, controls, readout=lambda k, log, kind: f"k = {k}, {kind}")


def test_control_kinds_and_values():
    ex = make()
    kinds = {name: control_kind(c) for name, c in ex.controls.items()}
    assert kinds == {"k": "slider", "log": "checkbox", "kind": "dropdown"}
    assert control_values(ex.controls["k"])[0] == list(range(2, 10))
    assert control_values(w.SelectionSlider(options=[1, 10, 100], value=10)) == (
        [1, 10, 100],
        ["1", "10", "100"],
    )
    assert control_values(w.FloatSlider(value=0.2, min=0.0, max=0.5, step=0.1))[0] == [
        0.0, 0.1, 0.2, 0.3, 0.4, 0.5,
    ]  # fmt: skip


def test_small_grid_is_drawn_whole():
    controls, full = grid(make(), max_frames=100)
    assert full == 8 * 2 * 2 and [len(c["values"]) for c in controls] == [8, 2, 2]
    assert [c["initial"] for c in controls] == [1, 0, 0]
    assert controls[0]["label"] == "points" and controls[2]["label"] == "kind"


@pytest.mark.parametrize("cap", [4, 10, 40])
def test_large_grid_is_thinned_keeping_ends_and_initial_value(cap):
    controls, full = grid(make(max_k=60), max_frames=cap)
    k = controls[0]
    assert full == 59 * 4
    assert k["values"][0] == 2 and k["values"][-1] == 60 and k["values"][k["initial"]] == 3
    assert k["values"] == sorted(k["values"])
    drawn = len(k["values"]) * 4
    assert drawn <= max(cap, 3 * 4)  # thinned down to its ends and start value at most


def test_export_writes_each_distinct_picture_once_with_its_readout(tmp_path):
    ex = make()
    live = ex._redraw
    ex.png()  # the live explorer has drawn its first state and remembers that layout
    remembered = {key: list(layouts) for key, layouts in live._layouts.items()}
    assert remembered
    manifest = export_frames(ex, tmp_path / "ex", "frames/ex", max_frames=100)
    assert ex._redraw is live and live._layouts == remembered  # left as it was, not redrawn
    assert len(manifest["frames"]) == 32 and not manifest["subset"]
    json.dumps(manifest)  # embeddable in a page
    first = manifest["frames"]["1,0,0"]
    assert first["readout"] == "k = 3, a"
    picture = plt.imread(tmp_path / "ex" / first["src"].rsplit("/", 1)[1])
    notebook_picture = ex.png()
    # drawn less dense than the notebook's picture, shown at the same CSS width
    assert picture.shape[1] == round(
        FRAME_DENSITY / ex.density * plt.imread(io.BytesIO(notebook_picture)).shape[1]
    )
    assert first["width"] == ex.shown_width(notebook_picture) and ex.density == DENSITY
    assert manifest["frames"]["2,0,0"]["src"] != first["src"]  # k = 4 is another picture
    assert manifest["frames"]["5,1,1"]["readout"] == "k = 7, b"
    files = list((tmp_path / "ex").glob("*.webp"))
    assert len(files) == len({f["src"] for f in manifest["frames"].values()}) <= 32


def test_frames_are_exported_while_the_site_is_built(tmp_path, monkeypatch):
    monkeypatch.setenv("GDLESSONS_RENDER", "1")
    monkeypatch.setenv("GDLESSONS_FRAMES", str(tmp_path))
    monkeypatch.setenv("GDLESSONS_FRAMES_URL", "frames/chapter")
    monkeypatch.setenv("GDLESSONS_FRAMES_MAX", "6")
    html = make()._repr_mimebundle_()["text/html"]
    data = html.split('<script type="application/json" class="gdl-frames">')[1]
    manifest = json.loads(data.split("</script>")[0])
    assert manifest["subset"] and len(manifest["frames"]) <= 6 * 4
    src = next(iter(manifest["frames"].values()))["src"]
    assert src.startswith("frames/chapter/explorer-")
    assert (tmp_path / src.removeprefix("frames/chapter/")).exists()


def test_a_start_value_off_the_step_grid_is_drawn_too():
    ex = Explorer(
        lambda lr: new_axes()[0],
        {"lr": w.FloatLogSlider(value=0.45, base=10, min=-2, max=0, step=0.5)},
    )
    controls, _ = grid(ex)
    lr = controls[0]
    assert lr["values"][lr["initial"]] == 0.45 and lr["labels"][lr["initial"]] == "0.45"
    assert lr["values"] == sorted(lr["values"])
