"""Chapter 01: the measured and drawn loops are the notebook's loops, bit for bit."""

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gdlessons.chapters import all_explorers
from gdlessons.chapters import ch01_training_loop as ch
from gdlessons.compare import compare
from gdlessons.data import linear_data
from gdlessons.models import LinearModel, tutorial_mlp
from gdlessons.training import train
from tests.explorer_states import sampled_states

DATA = linear_data(60, seed=0)
X, Y = DATA.X, DATA.y


def notebook_hand_loop(lr, iterations, w=-1.0, b=2.5):
    """Section 1's loop, as the notebook writes it."""
    model = LinearModel(w=w, b=b)
    losses = []
    for _ in range(iterations):
        loss = F.mse_loss(model(X), Y)
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        model.zero_grad()
        losses.append(loss.item())
    return model, losses


@pytest.mark.parametrize("lr", [0.01, 0.1, 0.6])
def test_hand_path_is_the_notebooks_loop(lr):
    model, losses = notebook_hand_loop(lr, 12)
    path = ch.hand_path(X, Y, -1.0, 2.5, lr, 12)
    assert path.loss[:12].tolist() == losses
    assert path.params[12].tolist() == [model.w.item(), model.b.item()]
    w, b = -1.0, 2.5
    for k in range(3):  # the recorded gradient is autograd's at those parameters
        m = LinearModel(w=path.params[k][0], b=path.params[k][1])
        F.mse_loss(m(X), Y).backward()
        assert path.grad[k].tolist() == [m.w.grad.item(), m.b.grad.item()]
    assert (w, b) == tuple(path.params[0])


def test_least_squares_and_the_stability_bound():
    w, b = ch.least_squares(X, Y)
    model, _ = notebook_hand_loop(0.3, 300)
    assert abs(model.w.item() - w) < 1e-4 and abs(model.b.item() - b) < 1e-4
    bound = ch.line_hessian_bound(X)
    below = ch.hand_path(X, Y, -1.0, 2.5, 0.95 * bound, 200)
    above = ch.hand_path(X, Y, -1.0, 2.5, 1.05 * bound, 200)
    assert below.loss[-1] < below.loss[0] < above.loss[-1]


def test_graph_nodes_count_a_recorded_update():
    w = torch.tensor(1.0, requires_grad=True)
    loss = F.mse_loss(X * w, Y)
    loss.backward()
    w_new = w - 0.1 * w.grad
    assert ch.graph_nodes(F.mse_loss(X * w_new, Y)) == ch.graph_nodes(loss) + 1


def test_gradcheck_passes_mse_and_catches_the_missing_two():
    pred = torch.linspace(-1, 1, 8, dtype=torch.float64).requires_grad_()
    target = torch.zeros(8, dtype=torch.float64)
    assert torch.autograd.gradcheck(F.mse_loss, (pred, target))
    assert not torch.autograd.gradcheck(
        ch.MSEMissingTwo.apply, (pred, target), raise_exception=False
    )
    assert torch.equal(ch.MSEMissingTwo.apply(pred, target), F.mse_loss(pred, target))


@pytest.mark.parametrize("make", [lambda: LinearModel(-1.0, 2.5), lambda: tutorial_mlp(seed=0)])
def test_dataloader_loop_is_train_on_the_same_batches(make):
    a, b = make(), make()
    losses = ch.dataloader_loop(a, ch.make_loader(X, Y, 16, seed=3), lr=0.05, epochs=2)
    order = ch.index_loader(len(X), 16, seed=3)
    h = train(b, (X, Y), batch_size=16, epochs=2, lr=0.05, batches=lambda e: list(order))
    assert h.iterations.loss == losses and compare(a, b).equal


@pytest.mark.parametrize("batch_size", [16, 59, len(X)])
def test_train_seed_is_one_randperm_per_epoch(batch_size):
    """Section 5's randperm loop, as the notebook writes it, is train(seed) bit for bit at every
    legal batch size: also at B = N, where train() takes the one batch in order (a shuffled
    batch of all N samples sums the same losses in another order: other last bits)."""
    model = LinearModel(-1.0, 2.5)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    generator, losses, n = torch.Generator().manual_seed(7), [], len(X)
    for _ in range(3):
        order = torch.randperm(n, generator=generator) if batch_size < n else torch.arange(n)
        for idx in order.split(batch_size):
            loss = F.mse_loss(model(X[idx]), Y[idx])
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
    trained = LinearModel(-1.0, 2.5)
    h = train(trained, (X, Y), batch_size=batch_size, epochs=3, lr=0.1, seed=7)
    assert h.iterations.loss == losses and compare(trained, model).equal


def test_small_helpers():
    assert ch.rises([1.0, 2.0, 1.5, 3.0]) == 2
    assert ch.without_time([{"a": 1, "time": 2.0}]) == [{"a": 1}]


def test_figures_are_labelled_and_styled_apart():
    fig = ch.loss_plot({"a": [3.0, 2.0, 1.0], "b": [3.0, 2.5, 2.0]}, title="t")
    ax = fig.axes[0]
    assert ax.get_title() == "t" and "iteration" in ax.get_xlabel() and ax.get_legend()
    styles = {(line.get_linestyle(), line.get_marker()) for line in ax.lines}
    assert len(styles) == 2
    fig = ch.epochs_plot([3.0, 2.0, 1.5, 1.0, 0.9, 0.8], [2.0, 1.0, 0.7])
    assert "iteration" in fig.axes[0].get_xlabel() and "3 epochs of 2" in fig.axes[0].get_title()


def test_explorer_is_registered_pure_and_cheap_to_move():
    assert "ch01-loop-explorer" in all_explorers()
    explorer = ch.loop_explorer(n=60, max_iterations=30)
    loop = explorer.loop
    fig = explorer.figure(lr=0.1, iteration=5)
    left, right = fig.axes
    assert "w" in left.get_xlabel() and "iteration" in right.get_xlabel()
    assert "5 of 30 iterations" in left.get_title() and "converges" in fig.get_suptitle()
    assert all(t.get_fontsize() >= 9 for ax in fig.axes for t in [ax.title, ax.xaxis.label])
    assert loop._path.cache_info().misses == 1
    explorer.figure(lr=0.1, iteration=20)  # the iteration slider reuses the path
    assert loop._path.cache_info().misses == 1
    text = explorer.readout(lr=0.1, iteration=5)
    path = loop.path(0.1)
    assert f"dL/dw = {path.grad[5][0]:+.4g}" in text and "2/λ_max" in text
    assert explorer.figure(lr=0.1, iteration=999)  # clamped to the last iteration


def test_explorer_handles_a_diverging_rate_without_warnings(recwarn):
    explorer = ch.loop_explorer(n=60, max_iterations=60)
    fig = explorer.figure(lr=1.0, iteration=60)
    assert "diverges" in fig.get_suptitle()
    assert "leaves the view" in " ".join(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    assert len(explorer.png(lr=1.0, iteration=60)) > 1000
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_speed_table_rows():
    rows = ch.speed_table(DATA, 16, epochs=1, repeats=1)
    assert [r["what"] for r in rows][:2] == ["DataLoader loop", "train()"]
    assert all(r["ms per epoch"] > 0 for r in rows)


@pytest.mark.slow
def test_worker_table_starts_workers():
    rows = ch.worker_table(DATA, 16, workers=[0, 1])
    assert [r["num_workers"] for r in rows] == [0, 1]
    assert all(np.isfinite(r["ms per epoch"]) for r in rows)


NUMBER = r"([-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|inf|nan))"
READOUT = re.compile(
    rf"iteration (\d+): w = {NUMBER}, b = {NUMBER}, loss = {NUMBER}\n"
    rf"gradient: dL/dw = {NUMBER}, dL/db = {NUMBER}\n"
    rf"next update: Δw = {NUMBER}, Δb = {NUMBER}\n"
    rf"stable for lr < 2/λ_max = {NUMBER}\n"
    rf"least squares at w = {NUMBER}, b = {NUMBER}$"
)


def close(a: float, b: float, digits: int = 4) -> bool:
    """Whether two numbers agree to what a ``:.{digits}g`` text of either keeps."""
    if not (np.isfinite(a) and np.isfinite(b)):
        return str(a) == str(b)
    return abs(a - b) <= 10 ** (1 - digits) * max(abs(a), abs(b)) + 1e-300


@pytest.mark.parametrize(
    "kwargs", [{}, {"n": 53, "seed": 2, "lr": 0.03, "iteration": 7}], ids=["default", "offdefault"]
)
def test_explorer_readout_and_titles_tell_what_is_drawn(kwargs):
    """Per sampled state, the numbers the readout and the titles state are the picture's: the
    iteration (title, readout, the dashed line, the points of the path and of the loss curve),
    where the path is (the circled point) or that it left the view (legend and title, and the
    point it left at lies outside), the loss (the curve's last point, or the verdict naming the
    first iteration it was not finite), the rate (the suptitle, and the update the readout
    predicts), and the verdict against the stability bound the readout gives."""
    explorer = ch.loop_explorer(**kwargs)
    explorer.check_backgrounds = True
    for state in sampled_states(explorer, corners=True):
        assert explorer.png(**state).startswith(b"\x89PNG")
        fig, where = explorer.figure(**state), f"at {state}"
        left, right = fig.axes
        said = READOUT.match(explorer.readout(**state))
        assert said, (where, explorer.readout(**state))
        k, (w, b, loss, gw, gb, dw, db, bound, w_min, b_min) = (
            int(said[1]),
            map(float, said.groups()[1:]),
        )
        runs = int(re.search(r"(\d+) of (\d+) iterations", left.get_title())[2])
        assert re.search(rf"\b{k} of {runs} iterations", left.get_title()), where
        assert k == min(state["iteration"], runs) and runs == max(60, kwargs.get("iteration", 0))
        lr, verdict = re.match(r"lr = ([\d.e+-]+): (.+)$", fig.get_suptitle()).groups()
        assert close(float(lr), state["lr"], 3) and close(dw, -state["lr"] * gw, 3), where
        assert close(db, -state["lr"] * gb, 3), where
        unstable = verdict.startswith(("diverges", "unstable"))
        assert unstable == (state["lr"] >= bound) or close(state["lr"], bound, 3), where
        lines = {line.get_label(): line for line in left.get_lines()}
        legend = [t.get_text() for t in left.get_legend().get_texts()]
        path = lines[legend[0]]
        xs, ys = path.get_data()
        assert [[xs[0], ys[0]]] == lines["start"].get_xydata().tolist(), where
        assert close(lines["least squares"].get_xdata()[0], w_min) and close(
            lines["least squares"].get_ydata()[0], b_min
        )
        left_at = re.search(r"leaves the view at iteration (\d+)", legend[0])
        if left_at:
            out = int(left_at[1])
            assert f", {out} drawn" in left.get_title() and out <= k and len(xs) == out + 1, where
            (w0, w1), (b0, b1) = left.get_xlim(), left.get_ylim()
            assert not (w0 <= xs[-1] <= w1 and b0 <= ys[-1] <= b1), where  # it has left
            assert all(w0 <= x <= w1 and b0 <= y <= b1 for x, y in zip(xs[:-1], ys[:-1])), where
            assert not any(t.startswith("iteration") for t in legend), where
            circled = [line for line in left.get_lines() if line.get_label().startswith("iter")]
            assert not any(line.get_visible() for line in circled), where
        else:
            assert legend[0] == "path" and len(xs) == k + 1, where
            assert close(xs[-1], w) and close(ys[-1], b), where
            circled = lines[f"iteration {k}"]
            assert circled.get_visible() and circled.get_xydata().tolist() == [[xs[-1], ys[-1]]]
        curve, now = right.get_lines()
        steps, losses = curve.get_data()
        assert now.get_xdata()[0] == k and list(steps) == list(range(len(steps))), where
        low, high = right.get_ylim()
        assert all(low <= v <= high for v in losses), where
        if np.isfinite(loss):
            assert steps[-1] == k and close(losses[-1], loss), where
        else:
            bad = int(re.search(r"loss not finite at iteration (\d+)", verdict)[1])
            assert bad <= k and len(steps) == bad, where


def test_verdict_never_calls_a_rate_past_the_bound_converging():
    # Just past 2/λ_max the steep direction grows slowly: over 30 iterations the loss still
    # falls (×0.84), which the verdict used to call "converging slowly" next to a readout
    # saying the rate is unstable.
    loop = ch.loop_explorer(n=60, max_iterations=30).loop
    lr = loop.bound * 1.005
    assert loop.path(lr).loss[-1] < loop.path(lr).loss[0]
    assert loop.verdict(lr).startswith("unstable (lr ≥ 2/λ_max)")
    assert loop.verdict(loop.bound * 0.99).startswith("converg")
