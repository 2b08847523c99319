"""A battery of bad inputs across the public entry points: each is answered by a ValueError or
TypeError that names the argument (or the bad data), never by an error from deep inside torch,
numpy or matplotlib, and never by a run that silently trains on nonsense."""

from __future__ import annotations

import warnings

import pytest
import torch

from gdlessons.batching import BatchIterator, iterations_per_epoch
from gdlessons.data import digits_data, linear_data, quadratic_data
from gdlessons.display.plots import loss_curve
from gdlessons.display.tables import Table
from gdlessons.gradient_noise import gradient_noise
from gdlessons.landscapes import iterates, stable_lr
from gdlessons.lr_finder import ema_smooth, lr_range_test, valley_point
from gdlessons.models import LinearModel, digits_classifier, initialise, tutorial_mlp
from gdlessons.schedules import make_schedule, rate_curve
from gdlessons.sweep import grid, sweep
from gdlessons.training import accuracy, confusion_matrix, evaluate, make_optimizer, train

X, Y = torch.randn(10, 1), torch.randn(10, 1)
IMAGES, LABELS = torch.randn(10, 64), torch.arange(10) % 10


def _train(**kwargs):
    data = kwargs.pop("data", (X, Y))
    return train(kwargs.pop("model", tutorial_mlp()), data, **{"batch_size": 5, **kwargs})


def _classify(y, **kwargs):
    return train(
        digits_classifier(hidden=4), (IMAGES, y), batch_size=5, loss="cross_entropy", **kwargs
    )


CASES = [
    # data that does not fit the model or the loss
    ("targets of shape (n,) against outputs (n, 1)", lambda: _train(data=(X, Y.ravel())), "targets y have shape"),
    ("targets with two columns", lambda: _train(data=(X, torch.randn(10, 2))), "targets y have shape"),
    ("integer inputs", lambda: _train(data=(X.long(), Y)), "X must hold floating-point"),
    ("float64 inputs to a float32 model", lambda: _train(data=(X.double(), Y.double())), "torch.float64"),
    ("wrong number of input features", lambda: _train(data=(torch.randn(10, 3), Y)), "cannot take X of shape"),
    ("float class labels", lambda: _classify(torch.rand(10)), "class labels"),
    ("class labels out of range", lambda: _classify(torch.full((10,), 12)), "0..9"),
    ("negative class labels", lambda: _classify(torch.full((10,), -1)), "0..9"),
    ("integer regression targets", lambda: _train(data=(X, Y.long())), "floating-point targets"),
    ("NaN in X", lambda: _train(data=(X * float("nan"), Y)), "X holds a non-finite value"),
    ("inf in y", lambda: _train(data=(X, Y * float("inf"))), "y holds a non-finite value"),
    ("NaN in validation data", lambda: _train(val_data=(X, Y * float("nan"))), "val_data: y holds a non-finite"),
    ("validation data that does not fit", lambda: _train(val_data=(X, Y.ravel())), "val_data: targets"),
    ("numpy arrays", lambda: _train(data=(X.numpy(), Y.numpy())), "torch tensors"),
    ("no data", lambda: _train(data=None), "data must be a Dataset"),
    ("X and y of different lengths", lambda: _train(data=(X, Y[:7])), "same length"),
    ("empty data", lambda: _train(data=(X[:0], Y[:0])), "empty"),
    # arguments of train()
    ("no model", lambda: _train(model=None), "model must be a torch.nn.Module"),
    ("epochs as a string", lambda: _train(epochs="3"), "epochs must be an integer"),
    ("zero epochs", lambda: _train(epochs=0), "epochs must be >= 1"),
    ("batch size larger than the data", lambda: _train(batch_size=11), "batch_size must be between 1 and 10"),
    ("batch size 'half'", lambda: _train(batch_size="half"), "batch_size"),
    ("negative learning rate", lambda: _train(lr=-0.1), "lr"),
    ("momentum above 1", lambda: _train(momentum=1.5), "momentum"),
    ("scheduler given by name", lambda: _train(scheduler="cosine"), "scheduler must be a function"),
    ("loss given as a number", lambda: _train(loss=3), "loss must be one of"),
    ("shuffle given as a string", lambda: _train(shuffle="False"), "shuffle must be True or False"),
    ("a callback that is not callable", lambda: _train(callback=3), "callback must be a function"),
    ("zero batches per epoch", lambda: _train(batches_per_epoch=0, replacement=True), "batches_per_epoch"),
    ("accumulation steps larger than the batch", lambda: _train(accumulation_steps=6), "accumulation_steps"),
    ("unknown optimizer", lambda: _train(optimizer="lbfgs"), "optimizer must be one of"),
    ("momentum with Adam", lambda: _train(optimizer="adam", momentum=0.9), "momentum"),
    ("batch_indices together with shuffle=False", lambda: _train(batch_indices=lambda e: [torch.arange(5)], shuffle=False), "batch_indices"),
    ("evaluate_every zero", lambda: _train(evaluate_every=0), "evaluate_every"),
    # other entry points that take data
    ("evaluate with mismatched targets", lambda: evaluate(tutorial_mlp(), (X, Y.ravel())), "targets y have shape"),
    ("evaluate with an unknown loss", lambda: evaluate(tutorial_mlp(), (X, Y), loss="mae"), "loss must be one of"),
    ("accuracy with float labels", lambda: accuracy(digits_classifier(hidden=4), (IMAGES, torch.rand(10))), "class labels"),
    ("confusion matrix with one class", lambda: confusion_matrix(digits_classifier(hidden=4), (IMAGES, LABELS), classes=1), "classes"),
    ("range test on mismatched targets", lambda: lr_range_test(tutorial_mlp(), (X, Y.ravel()), batch_size=5), "targets y have shape"),
    ("range test with a foreign optimizer", lambda: lr_range_test(tutorial_mlp(), (X, Y), optimizer="adam"), "optimizer"),
    ("sweep with no configurations", lambda: sweep(tutorial_mlp(), (X, Y), [], batch_size=5), "configs"),
    ("sweep with a rate given as text", lambda: sweep(tutorial_mlp(), (X, Y), [{"lr": "a"}], batch_size=5), "lr"),
    ("sweep on mismatched targets", lambda: sweep(tutorial_mlp(), (X, Y.ravel()), [{"lr": 0.1}], batch_size=5), "targets y have shape"),
    ("grid with an empty list", lambda: grid(lr=[]), "grid(lr=...)"),
    ("grid with a single value", lambda: grid(lr=0.1), "grid(lr=...)"),
    ("gradient noise with no batch sizes", lambda: gradient_noise(tutorial_mlp(), quadratic_data(20), batch_sizes=[]), "batch_sizes"),
    # helpers and factories
    ("optimizer factory with a rate beside it", lambda: make_optimizer(tutorial_mlp(), lambda m: torch.optim.Adam(m.parameters()), lr=0.1), "lr=0.1"),
    ("smoothing with beta 1", lambda: ema_smooth([1.0, 2.0], beta=1.0), "beta"),
    ("valley of text", lambda: valley_point("abc"), "losses"),
    ("batches of size 0", lambda: BatchIterator(X, Y, batch_size=0), "batch_size"),
    ("iterations per epoch of no samples", lambda: iterations_per_epoch(0, 5), "n"),
    ("a schedule over no iterations", lambda: make_schedule("cosine", 0.1, 0), "total_iterations"),
    ("a rate curve of a schedule name", lambda: rate_curve("cosine", 10), "factory"),
    ("a negative rate on a quadratic", lambda: iterates([1.0], [1.0], -0.1, 10), "lr"),
    ("no curvatures", lambda: iterates([], [], 0.1, 10), "curvatures"),
    ("a negative curvature", lambda: stable_lr(-1.0), "curvature"),
    ("no samples", lambda: quadratic_data(0), "n"),
    ("negative noise", lambda: quadratic_data(10, noise=-1), "noise"),
    ("sample count as text", lambda: linear_data("10"), "n must be an integer"),
    ("a validation fraction above 1", lambda: digits_data(val_fraction=1.5), "val_fraction"),
    ("a model without hidden units", lambda: tutorial_mlp(hidden=0), "hidden"),
    ("an unknown initialisation", lambda: initialise(tutorial_mlp(), "xavier"), "init"),
    ("a line with a weight given as text", lambda: LinearModel(w="1"), "w"),
    ("a loss curve of nothing", lambda: loss_curve(None), "history must be a History"),
    ("a loss curve against 'step'", lambda: loss_curve(_train(), x="step"), "x must be one of"),
    ("a table of no rows", lambda: Table([]), "rows"),
    ("a table of a number", lambda: Table(5), "rows"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "word"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_named(call, word):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a broadcasting warning would mean it was not caught first
        with pytest.raises((ValueError, TypeError)) as caught:
            call()
    assert word in str(caught.value), f"{type(caught.value).__name__}: {caught.value}"


def test_the_battery_is_large():
    assert len(CASES) >= 40
