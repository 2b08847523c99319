"""A battery of bad inputs across the public entry points: each is answered by a ValueError or
TypeError that names the argument (or the bad data), never by an error from deep inside torch,
numpy or matplotlib, and never by a run that silently trains on nonsense."""

from __future__ import annotations

import warnings

import pytest
import torch
from ipywidgets import IntSlider

from gdlessons import hooks, loop
from gdlessons._validate import (
    check_bool,
    check_choice,
    check_float,
    check_instance,
    check_int,
    check_mapping,
    check_sequence,
)
from gdlessons.batching import BatchIterator, EpochBatches, iterations_per_epoch, resolve_batch_size
from gdlessons.chapters.ch08_batch_size_meets_learning_rate import accuracy, confusion_matrix
from gdlessons.checks import check_batch_indices, check_model_fits, check_training_data
from gdlessons.data import Dataset, as_tensors, digits_data, linear_data, quadratic_data
from gdlessons.display.explorer import Explorer, check_start, slider_range
from gdlessons.display.frames import control_kind, control_values, export_frames
from gdlessons.display.frames import grid as frame_grid
from gdlessons.display.landscapes import draw_path, plot_contours_2d, plot_curve_1d, plot_regimes_1d
from gdlessons.display.plots import (
    describe,
    figure_png,
    line_style,
    loss_curve,
    new_axes,
    new_figure,
    panel_places,
    shown_size,
    whole_number_ticks,
)
from gdlessons.display.range_test import plot_range_test, range_test_legend
from gdlessons.display.redraw import Redraw
from gdlessons.display.sizes import check, problems
from gdlessons.display.tables import Table
from gdlessons.history import Recorder
from gdlessons.landscapes import (
    as_curvatures,
    condition_number,
    convergence_factor,
    eigenvalues_from_condition,
    first_divergent,
    iterates,
    iteration_roots,
    quadratic_loss,
    regime,
    stable_lr,
    torch_sgd_path,
)
from gdlessons.lr_finder import (
    SmoothedLoss,
    add_suggestions,
    ema_smooth,
    lr_range_test,
    steepest_point,
    suggested_lr,
    valley_point,
    warmup_iterations,
)
from gdlessons.metrics import evaluate, resolve_loss
from gdlessons.models import (
    LinearModel,
    batchnorm_mlp,
    count_parameters,
    digits_classifier,
    initialise,
    tutorial_mlp,
)
from gdlessons.schedules import (
    already_stepped,
    cosine,
    cyclic,
    exponential,
    linear_decay,
    make_schedule,
    one_cycle,
    rate_curve,
    step_decay,
    warmup_cosine,
)
from gdlessons.sweep import grid, sweep
from gdlessons.training import (
    check_optimizer_holds,
    check_option,
    check_options,
    make_optimizer,
    train,
)

_DRAW = torch.Generator().manual_seed(0)  # the same small data in every process
X, Y = torch.randn(10, 1, generator=_DRAW), torch.randn(10, 1, generator=_DRAW)
IMAGES, LABELS = torch.randn(10, 64), torch.arange(10) % 10


def _loop():
    model = tutorial_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return loop.Loop(model, opt, torch.nn.functional.mse_loss, Recorder({}))


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
    ("shuffle, now an option of the batches", lambda: _train(shuffle="False"), "shuffle=... is now batches=BatchIterator"),
    ("a callback, now a hook", lambda: _train(callback=3), "callback=... is now hooks=[StopWhen(condition)]"),
    ("zero batches per epoch", lambda: BatchIterator(X, Y, batch_size=2, batches_per_epoch=0, replacement=True), "batches_per_epoch"),
    ("a one-shot iterator as batches", lambda: _train(batches=iter([(X, Y)])), "one-shot iterator"),
    ("batches over other data", lambda: _train(batches=BatchIterator(X[:4], Y[:4], batch_size=2)), "over 4 samples but data has n=10"),
    ("a batch size that disagrees with the batches", lambda: _train(batches=BatchIterator(X, Y, batch_size=2), batch_size=4), "batch_size=4 disagrees"),
    ("hooks that are not hooks", lambda: _train(hooks=[print]), "hooks must be Hook instances"),
    ("an option of another optimizer", lambda: _train(betas=(0.9, 0.99)), "optimizer 'sgd' takes options among"),
    ("accumulation steps larger than the batch", lambda: _train(accumulation_steps=6), "accumulation_steps"),
    ("unknown optimizer", lambda: _train(optimizer="lbfgs"), "optimizer must be one of"),
    ("momentum with Adam", lambda: _train(optimizer="adam", momentum=0.9), "momentum"),
    ("batch_indices, now batches", lambda: _train(batch_indices=lambda e: [torch.arange(5)]), "batch_indices=... is now batches="),
    ("evaluate_every, now a hook", lambda: _train(evaluate_every=0), "evaluate_every=... is now hooks=[EvaluateEvery(k)]"),
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
    # known failures of an external battery
    ("an optimizer factory over another model", lambda: _train(optimizer=lambda m: torch.optim.SGD(tutorial_mlp().parameters(), lr=0.1)), "optimizer (a factory model -> Optimizer)"),
    ("batch indices out of range", lambda: _train(batches=lambda e: [torch.arange(5), torch.arange(5, 11)]), "0..9 (the data has n=10"),
    ("batch indices of floats", lambda: _train(batches=lambda e: [torch.rand(5)]), "batches(1)[0] must hold integer"),
    ("batch indices giving no batch", lambda: _train(batches=lambda e: []), "at least one batch"),
    ("smoothing no losses", lambda: ema_smooth([]), "values must hold"),
    # the rest of the core, argument by argument
    ("the optimizer-holds check on another model", lambda: check_optimizer_holds(torch.optim.SGD(tutorial_mlp().parameters(), lr=0.1), tutorial_mlp()), "does not hold the model's"),
    ("an optimizer for no model", lambda: make_optimizer(None), "model must be a torch.nn.Module"),
    ("evaluate no model", lambda: evaluate(None, (X, Y)), "model must be a torch.nn.Module"),
    ("a model check of no model", lambda: check_model_fits(None, X, Y, "mse"), "model must be a torch.nn.Module"),
    ("confusion matrix with fewer classes than scores", lambda: confusion_matrix(digits_classifier(hidden=4), (IMAGES, LABELS), classes=5), "classes must be the number"),
    ("batch size 0 resolved", lambda: resolve_batch_size(0, 10), "batch_size must be between 1 and 10"),
    ("a loss given as a number", lambda: resolve_loss(3), "loss must be one of"),
    ("a scheduler of a number", lambda: hooks.make_scheduler(3, None), "scheduler must be a function"),
    ("a scheduler already bound to an optimizer", lambda: hooks.check_scheduler_factory(torch.optim.lr_scheduler.StepLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), 10)), "not a scheduler already bound"),
    ("training data of nothing", lambda: check_training_data(None), "data must be a Dataset"),
    ("suggestions for no range test", lambda: add_suggestions(None), "result must be a RangeTest"),
    ("a suggested rate of no range test", lambda: suggested_lr(None), "result must be a RangeTest"),
    ("plot no range test", lambda: plot_range_test(None), "result must be a RangeTest"),
    ("a range-test legend on no axes", lambda: range_test_legend(None), "ax must be a matplotlib Axes"),
    ("steepest point of unequal lists", lambda: steepest_point([1e-3, 1e-2, 1e-1], [1.0, 2.0]), "same length"),
    ("warm-up of beta 1", lambda: warmup_iterations(1.0, 10), "beta"),
    ("smoother with beta 2", lambda: SmoothedLoss(2), "beta"),
    ("a quadratic of 3 coordinates and 2 curvatures", lambda: quadratic_loss([1.0, 2.0, 3.0], [1.0, 2.0]), "curvatures"),
    ("a condition number below 1", lambda: eigenvalues_from_condition(0.5), "condition_number"),
    ("a condition number of no curvatures", lambda: condition_number([]), "curvatures"),
    ("curvatures with a negative one", lambda: as_curvatures([1.0, -2.0]), "curvatures must be finite and > 0"),
    ("roots of a negative rate", lambda: iteration_roots(-1.0, 1.0), "lr"),
    ("a factor of a negative curvature", lambda: convergence_factor(0.1, -1.0), "curvature"),
    ("a regime with slow_above 2", lambda: regime(0.1, 1.0, slow_above=2), "slow_above"),
    ("first divergence of no path", lambda: first_divergent(None), "path must be an array"),
    ("a 1-D curve of negative curvature", lambda: plot_curve_1d(-1.0), "a must be"),
    ("regimes of no rates", lambda: plot_regimes_1d(1.0, []), "rates must hold"),
    ("contours of no curvatures", lambda: plot_contours_2d([]), "curvatures"),
    ("contours with no levels", lambda: plot_contours_2d([1.0, 2.0], levels=0), "levels"),
    ("a path drawn on nothing", lambda: draw_path(None, None), "ax must be a matplotlib Axes"),
    ("a torch path with too many coordinates", lambda: torch_sgd_path([1.0], [1.0, 2.0], 0.1, 3), "x0 must hold one coordinate"),
    ("a step decay every 0 steps", lambda: step_decay(0), "step_size"),
    ("an exponential decay of 0", lambda: exponential(0), "gamma"),
    ("a cosine over no iterations", lambda: cosine(0), "total_iterations"),
    ("a warm-up longer than the run", lambda: warmup_cosine(10, 20), "warmup_iterations"),
    ("a cycle whose top is below its base", lambda: cyclic(0.1, 0.01, 5), "max_lr"),
    ("one cycle over no iterations", lambda: one_cycle(0.1, 0), "total_iterations"),
    ("a linear decay over no iterations", lambda: linear_decay(0), "total_iterations"),
    ("a schedule already stepped of a number", lambda: already_stepped(3, 2), "factory must be a function"),
    ("a dataset of unequal lengths", lambda: Dataset(torch.zeros(3, 1), torch.zeros(2, 1)), "same length"),
    ("tensors of nothing", lambda: as_tensors(None), "data must be a Dataset"),
    ("parameters of nothing", lambda: count_parameters(None), "model must be a torch.nn.Module"),
    ("a BatchNorm MLP without hidden units", lambda: batchnorm_mlp(hidden=0), "hidden"),
    ("a classifier of depth 0", lambda: digits_classifier(depth=0), "depth"),
    ("a recorder without a config", lambda: Recorder(None), "config must be a dict"),
    ("a line style of text", lambda: line_style("a"), "i must be an integer"),
    ("axes of a number", lambda: new_axes(3), "ax must be a matplotlib Axes"),
    ("a figure of a number", lambda: new_figure(3), "fig must be a matplotlib Figure"),
    ("whole-number ticks on nothing", lambda: whole_number_ticks(None), "fig must be"),
    ("a PNG of nothing", lambda: figure_png(None), "fig must be"),
    ("a PNG at density 0", lambda: figure_png(new_figure(), density=0), "density"),
    ("the shown size of nothing", lambda: shown_size(None), "fig must be"),
    ("the alt text of nothing", lambda: describe(None), "fig must be"),
    ("the panel places of nothing", lambda: panel_places(None), "fig must be"),
    ("a redraw at density 0", lambda: Redraw(0), "density"),
    ("a redraw with compression 12", lambda: Redraw(compress_level=12), "compress_level"),
    ("size problems of nothing", lambda: problems(None), "fig must be"),
    ("a size check of nothing", lambda: check(None), "fig must be"),
    ("the kind of a number", lambda: control_kind(3), "control must be an ipywidgets"),
    ("the values of a number", lambda: control_values(3), "control must be an ipywidgets"),
    ("frames of no explorer", lambda: frame_grid(None), "explorer must be an Explorer"),
    ("frames exported from no explorer", lambda: export_frames(None, "/tmp/none", "u"), "explorer must be an Explorer"),
    ("an explorer without controls", lambda: Explorer(lambda k: None, {}), "controls"),
    ("an explorer started outside its slider", lambda: Explorer(lambda k: None, {"k": IntSlider(value=2, min=4, max=9)}, start={"k": 2}), "k must be between 4 and 9"),
    ("a start value outside a slider", lambda: check_start("n", 2, IntSlider(value=2, min=4, max=200)), "n must be between 4 and 200"),
    ("the range of a number", lambda: slider_range(3), "control must be"),
    ("an integer given as text", lambda: check_int("n", "3"), "n must be an integer"),
    ("a float given as text", lambda: check_float("lr", "0.1"), "lr must be a real number"),
    ("a choice not among the choices", lambda: check_choice("loss", "mae", ["mse"]), "loss must be one of"),
    ("a flag given as 1", lambda: check_bool("shuffle", 1), "shuffle must be True or False"),
    ("an empty sequence", lambda: check_sequence("lrs", []), "lrs must hold at least 1"),
    ("a mapping of a list", lambda: check_mapping("runs", []), "runs must be a dict"),
    ("an instance of the wrong kind", lambda: check_instance("model", 3, torch.nn.Module), "model must be a Module"),
    # the hooks (gdlessons.hooks), and the loop's own pieces (gdlessons.loop)
    ("clipping at norm 0", lambda: hooks.ClipGradNorm(0.0), "max_norm must be"),
    ("a scheduler hook given a number", lambda: hooks.StepScheduler(0.1), "scheduler must be a function optimizer -> scheduler"),
    ("a scheduler hook watching an unknown metric", lambda: hooks.StepScheduler(lambda o: None, metric="val"), "metric must be one of"),
    ("a scheduler factory returning no scheduler", lambda: _train(scheduler=lambda o: 3), "must return an object with .step()"),
    ("a plateau on the validation loss without validation data", lambda: _train(hooks=[hooks.StepScheduler(lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o), metric="val_loss")]), "give scheduler=lambda opt: ReduceLROnPlateau(opt, ...) and val_data"),
    ("a progress bar shown 'yes'", lambda: hooks.ProgressBar("yes"), "show must be True or False"),
    ("evaluating every 0 updates", lambda: hooks.EvaluateEvery(0), "k must be"),
    ("a stop hook that is not a function", lambda: hooks.StopWhen(3), "condition must be a function"),
    ("hooks combined from something that is not a hook", lambda: loop.Hooks([print]), "hooks must be Hook instances"),
    ("batches given as a number", lambda: EpochBatches(3, X, Y), "batches must be None, a DataLoader"),
    ("batch indices that are not a list", lambda: check_batch_indices(3, 1, 10), "batches(1) must return a list of index tensors"),
    ("an optimizer option out of range", lambda: check_option("betas", "betas", (0.9, 1.0)), "betas[1] must be"),
    ("an option another optimizer takes", lambda: check_options("adam", {"momentum": 0.9}), "'momentum' belongs to optimizer 'sgd' or 'rmsprop'"),
    ("a loop over a model that is not a module", lambda: loop.Loop(None, None, None, None), "model must be a torch.nn.Module"),
    ("a loop run for 0 epochs", lambda: loop.run_loop(_loop(), lambda e: [], epochs=0), "epochs must be"),
    ("a loop with hooks that are not hooks", lambda: loop.run_loop(_loop(), lambda e: [], epochs=1, hooks=[print]), "hooks must be"),
]  # fmt: skip


def assert_named(call, word: str) -> None:
    """``call()`` raises a ValueError or TypeError whose message holds ``word``."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a broadcasting warning would mean it was not caught first
        with pytest.raises((ValueError, TypeError)) as caught:
            call()
    assert word in str(caught.value), f"{type(caught.value).__name__}: {caught.value}"


@pytest.mark.parametrize(("call", "word"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_named(call, word):
    assert_named(call, word)


def test_the_battery_is_large():
    assert len(CASES) >= 40
