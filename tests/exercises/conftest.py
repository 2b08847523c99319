"""What every exercise test runs under: the notebooks' own setting of one thread."""

import pytest
import torch

from gdlessons.models import LinearModel
from gdlessons.training import train


@pytest.fixture(scope="module", autouse=True)
def one_warm_thread():
    """As in the notebooks (``setup()``): one thread, faster for these small models on a shared
    machine; and PyTorch's one-off costs (the first optimizer step) paid outside the checks'
    time limit."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    train(LinearModel(), (torch.zeros(4, 1), torch.zeros(4, 1)), batch_size=2)
    yield
    torch.set_num_threads(threads)
