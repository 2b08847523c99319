"""The course benchmark finds the kernel's processes and measures their memory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import course


def test_descendants_include_grandchildren():
    code = "import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); print(p.pid, flush=True); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    grandchild = None
    try:
        grandchild = int(child.stdout.readline())
        found = course.descendants(os.getpid())
        assert child.pid in found and grandchild in found
    finally:
        if grandchild is not None:
            os.kill(grandchild, signal.SIGKILL)
        child.kill()
        child.wait()


def test_the_sampler_sees_a_child_s_memory():
    code = "import time; block = bytearray(96 * 2**20); print('ready', flush=True); time.sleep(1.0)"
    with course.MemorySampler(every=0.05) as memory:
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        child.wait()
    assert memory.samples >= 3
    assert memory.peak["Pss_Anon"] >= 90 * 1024  # KiB
    assert memory.peak["Pss"] <= memory.peak["Rss"]
    assert max(hwm for _, hwm in memory.hwm.values()) >= 90 * 1024


def test_render_is_loaded_without_torch():
    """This process must not map torch, or each kernel's share of torch's pages would shrink."""
    code = (
        "import sys; sys.path.insert(0, 'benchmarks'); import course; "
        "m = course.load_render(); print('torch' in sys.modules, callable(m.execute))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=course.ROOT, capture_output=True,
                         text=True, check=True)  # fmt: skip
    assert out.stdout.split() == ["False", "True"]


def test_cell_times_reads_papermill_durations(tmp_path):
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "source": ["x = 1\n"],
                "metadata": {"papermill": {"duration": 0.5}},
            },
            {
                "cell_type": "code",
                "source": ["slow()\n", "more"],
                "metadata": {"papermill": {"duration": 2.0}},
            },
            {"cell_type": "markdown", "source": ["# title"], "metadata": {}},
        ]
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    total, slowest = course.cell_times(path)
    assert total == 2.5 and slowest == {"seconds": 2.0, "index": 1, "first_line": "slow()"}


def test_every_chapter_is_found():
    names = [p.name for p in course.chapters()]
    assert names and names == sorted(names) and all(n[:2].isdigit() for n in names)
