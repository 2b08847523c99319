"""What every test process runs under: one PyTorch thread, as every chapter does (``setup()``).

``make test`` runs one test process per core; two threads in each would oversubscribe the cores,
and PyTorch's idle threads spin while they wait, which slows small models many times over."""

import torch


def pytest_configure(config):
    torch.set_num_threads(1)
