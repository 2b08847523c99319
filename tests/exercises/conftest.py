"""What every exercise test runs under: PyTorch's one-off costs paid before the checks' time
limit starts (one thread, as in the notebooks, is set for every test in tests/conftest.py)."""

import pytest
import torch

from gdlessons.models import LinearModel
from gdlessons.training import train


@pytest.fixture(scope="module", autouse=True)
def warm():
    """PyTorch's one-off costs (the first optimizer step) paid outside the checks' time limit."""
    train(LinearModel(), (torch.zeros(4, 1), torch.zeros(4, 1)), batch_size=2)
