import random

import matplotlib as mpl
import numpy as np
import pytest
import torch

from gdlessons import setup
from gdlessons.session import seed_everything, show_figures_inline


def test_setup_seeds_every_generator_and_uses_one_thread():
    torch.set_num_threads(2)  # tests run on one thread (tests/conftest.py): setup() must set it
    setup(seed=3)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    info = setup(seed=3)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first
    assert info["threads"] == torch.get_num_threads() == 1
    assert mpl.rcParams["axes.grid"] is True


def test_importing_the_package_changes_no_global_state():
    import subprocess
    import sys

    code = "import matplotlib as m; d = dict(m.rcParams); import gdlessons; assert dict(m.rcParams) == d"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize(("kwargs", "error"), [({"seed": -1}, ValueError), ({"seed": 1.5}, TypeError),
                                               ({"seed": 0, "threads": 0}, ValueError)])  # fmt: skip
def test_bad_arguments_are_named(kwargs, error):
    with pytest.raises(error, match="seed|threads"):
        setup(**kwargs)


def test_seed_everything_rejects_bools():
    with pytest.raises(TypeError, match="seed"):
        seed_everything(True)


def test_inline_figures_only_inside_ipython():
    assert show_figures_inline() is False
