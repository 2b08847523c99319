"""train(): bitwise equal to a hand-written SGD loop, exact accumulation, weighted epoch losses,
clean divergence, one scheduler step per update, reproducible, and named argument errors."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch.nn.functional import mse_loss

from gdlessons.batching import BatchIterator, resolve_batch_size
from gdlessons.chapters.ch08_batch_size_meets_learning_rate import accuracy
from gdlessons.data import Dataset, linear_data, quadratic_data
from gdlessons.display.plots import X_AXES, figure_png, loss_curve, new_axes
from gdlessons.history import History
from gdlessons.hooks import (
    ClipGradNorm,
    EvaluateEvery,
    FullTrainLoss,
    RecordParams,
    StepScheduler,
    StopWhen,
)
from gdlessons.metrics import evaluate
from gdlessons.models import LinearModel, digits_classifier, tutorial_mlp
from gdlessons.training import make_optimizer, train

DATA = quadratic_data(40, seed=1)


def hand_loop(model, data, *, batch_size, epochs, lr, momentum=0.0, nesterov=False, seed=0,
              replacement=False, weight_decay=0.0):  # fmt: skip
    """The loop every tutorial writes, indexing with the batch order BatchIterator promises."""
    X, y = data.tensors()
    opt = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
    )
    order = BatchIterator(X, y, batch_size=batch_size, seed=seed, replacement=replacement)
    losses = []
    for _ in range(epochs):
        for idx in order.epoch_indices():
            opt.zero_grad()
            loss = mse_loss(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses


def assert_same_bits(a: torch.nn.Module, b: torch.nn.Module) -> None:
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(p, q), name


@pytest.mark.parametrize(
    "batch_size", [len(DATA), 1, 16], ids=["batch", "stochastic", "mini-batch"]
)
@pytest.mark.parametrize(("momentum", "nesterov"), [(0.0, False), (0.9, False), (0.9, True)])
def test_train_is_bitwise_the_hand_written_loop(batch_size, momentum, nesterov):
    kw = dict(
        batch_size=batch_size, epochs=3, lr=0.002, momentum=momentum, nesterov=nesterov, seed=3
    )
    ours, theirs = tutorial_mlp(seed=5), tutorial_mlp(seed=5)
    history = train(ours, DATA, **kw)
    losses = hand_loop(theirs, DATA, **kw)
    assert not history.diverged and all(math.isfinite(v) for v in losses)
    assert_same_bits(ours, theirs)
    assert history.iterations.loss == losses  # the loss logged is the batch loss before the update
    assert not torch.equal(next(ours.parameters()), next(tutorial_mlp(seed=5).parameters()))


def test_train_with_replacement_and_weight_decay_is_bitwise_the_hand_written_loop():
    kw = dict(batch_size=8, epochs=2, lr=0.01, momentum=0.5, weight_decay=0.01, seed=2)
    ours, theirs = tutorial_mlp(seed=1), tutorial_mlp(seed=1)
    draws = BatchIterator(DATA.X, DATA.y, batch_size=8, seed=2, replacement=True)
    history = train(ours, DATA, batches=draws, **{k: v for k, v in kw.items() if k != "seed"})
    hand_loop(theirs, DATA, replacement=True, **kw)
    assert_same_bits(ours, theirs)
    assert history.epochs.iteration == [5, 10]  # ceil(40 / 8) draws per epoch by default


@pytest.mark.parametrize(
    ("n", "batch_size", "k"), [(40, 10, 4), (25, 10, 4), (30, 10, 10), (24, 12, 3)]
)
def test_accumulation_matches_the_whole_batch(n, batch_size, k):
    """k micro-batches (10 = 3 + 3 + 3 + 1 for k = 4; a short last batch of 5 = 2 + 2 + 1)
    give the update of the whole batch."""
    data = quadratic_data(n, seed=2)
    kw = dict(batch_size=batch_size, epochs=3, lr=0.01, momentum=0.9, seed=1)
    whole, accumulated = tutorial_mlp(seed=3), tutorial_mlp(seed=3)
    h1 = train(whole, data, **kw)
    hk = train(accumulated, data, accumulation_steps=k, **kw)
    for p, q in zip(whole.parameters(), accumulated.parameters()):
        torch.testing.assert_close(q, p, rtol=0, atol=1e-6)
    assert (
        hk.iterations.iteration == h1.iterations.iteration
    )  # one update per batch, not per micro-batch
    assert hk.iterations.samples_seen == h1.iterations.samples_seen
    assert hk.iterations.loss == pytest.approx(h1.iterations.loss, rel=1e-5)
    assert not torch.equal(whole[0].weight, tutorial_mlp(seed=3)[0].weight)


def test_accumulation_matches_the_whole_batch_for_cross_entropy():
    X = torch.randn(30, 64, generator=torch.Generator().manual_seed(0))
    y = torch.arange(30) % 10
    kw = dict(batch_size=15, epochs=2, lr=0.1, loss="cross_entropy", seed=0)
    whole, accumulated = digits_classifier(hidden=8, seed=0), digits_classifier(hidden=8, seed=0)
    train(whole, (X, y), **kw)
    train(accumulated, (X, y), accumulation_steps=4, **kw)
    for p, q in zip(whole.parameters(), accumulated.parameters()):
        torch.testing.assert_close(q, p, rtol=0, atol=1e-6)


def test_epoch_train_loss_is_weighted_by_samples():
    data = quadratic_data(10, seed=0)  # batches of 4, 4 and a short 2
    history = train(tutorial_mlp(seed=0), data, batch_size=4, epochs=2, lr=0.01, seed=0)
    losses = hand_loop(tutorial_mlp(seed=0), data, batch_size=4, epochs=2, lr=0.01, seed=0)
    assert history.iterations.loss == losses
    first, second = losses[:3], losses[3:]
    expected = [(4 * a + 4 * b + 2 * c) / 10 for a, b, c in (first, second)]
    assert history.epochs.train_loss == pytest.approx(expected, rel=1e-12)
    unweighted = sum(first) / 3
    assert abs(history.epochs.train_loss[0] - unweighted) > 1e-6 * abs(unweighted)
    assert history.epochs.samples_seen == [10, 20] and history.epochs.iteration == [3, 6]
    assert history.iterations.samples_seen == [4, 8, 10, 14, 18, 20]


def nan_at(call: int):
    """A mean-squared-error loss that returns NaN from its ``call``-th use on."""
    calls = {"n": 0}

    def loss(pred, target):
        calls["n"] += 1
        value = mse_loss(pred, target)
        return value * math.nan if calls["n"] >= call else value

    return loss


def test_divergence_stops_at_the_first_non_finite_loss_before_updating():
    model = LinearModel(w=0.5, b=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = train(
            model,
            linear_data(20),
            batch_size=5,
            epochs=3,
            lr=0.1,
            loss=nan_at(6),
            hooks=[RecordParams()],
        )
    assert h.diverged and h.diverged_at == 6
    assert h.iterations.iteration == [1, 2, 3, 4, 5]
    assert all(math.isfinite(v) for v in h.iterations.loss)
    assert h.epochs.epoch == [1]  # the second epoch did not finish
    assert len(h.params) == 6  # initial + 5 updates; the NaN batch changed nothing
    assert torch.equal(model.w.detach(), h.params[-1]["w"]) and all(
        p.grad is None for p in model.parameters()
    )


def test_a_real_divergence_stops_cleanly_and_still_plots():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = train(
            tutorial_mlp(seed=0),
            quadratic_data(100),
            batch_size=10,
            epochs=50,
            lr=2.0,
            val_data=DATA,
        )
        assert h.diverged and h.diverged_at == len(h.iterations.loss) + 1
        assert all(math.isfinite(v) for v in h.iterations.loss)
        fig, axes = new_axes(ncols=len(X_AXES), figsize=(16, 3))
        for x, ax in zip(X_AXES, axes):
            assert loss_curve(h, x=x, ax=ax) is fig
        assert figure_png(fig, density=0.3).startswith(b"\x89PNG")


def test_divergence_at_the_first_iteration_still_plots():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = train(LinearModel(), linear_data(20), batch_size=5, lr=0.1, loss=nan_at(1))
        assert h.diverged_at == 1 and h.iterations.loss == [] and h.epochs.epoch == []
        fig, axes = new_axes(ncols=len(X_AXES), figsize=(16, 3))
        for x, ax in zip(X_AXES, axes):
            assert loss_curve(h, x=x, ax=ax) is fig
        assert figure_png(fig, density=0.3).startswith(b"\x89PNG")


def test_scheduler_steps_once_per_update_and_lr_log_shows_the_rate_used():
    steps = []

    def step_lr(opt):
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        original = sched.step
        sched.step = lambda *a: (steps.append(1), original(*a))
        return sched

    data = quadratic_data(20)
    h = train(
        tutorial_mlp(),
        data,
        batch_size=4,
        epochs=2,
        lr=0.1,
        accumulation_steps=2,
        scheduler=step_lr,
    )
    assert (
        len(steps) == len(h.iterations.lr) == 10
    )  # 5 updates per epoch, micro-batches do not count
    assert h.iterations.lr == [0.1 * 0.5 ** (i // 3) for i in range(10)]
    assert h.config["scheduler"] == "StepLR"


def test_reduce_on_plateau_is_fed_the_batch_loss():
    def plateau(opt):
        return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)

    h = train(LinearModel(), linear_data(20), batch_size=20, epochs=5, lr=5.0, scheduler=plateau)
    assert (
        h.iterations.lr[0] == 5.0 and min(h.iterations.lr) < 5.0
    )  # lr=5 overshoots, the loss rises


def test_scheduler_must_be_a_factory():
    opt = make_optimizer(LinearModel(), lr=0.1)
    bound = torch.optim.lr_scheduler.StepLR(opt, step_size=1)
    with pytest.raises(TypeError, match="scheduler"):
        train(LinearModel(), linear_data(10), batch_size=5, scheduler=bound)
    with pytest.raises(TypeError, match="scheduler"):
        train(LinearModel(), linear_data(10), batch_size=5, scheduler=3)
    with pytest.raises(TypeError, match="scheduler"):
        train(LinearModel(), linear_data(10), batch_size=5, scheduler=lambda opt: 3)


def run(seed: int = 0, **kw) -> History:
    return train(
        tutorial_mlp(seed=0), DATA, batch_size=16, epochs=2, lr=0.01, momentum=0.9, seed=seed,
        val_data=quadratic_data(20, seed=9), **kw, hooks=[EvaluateEvery(2), RecordParams()],
    )  # fmt: skip


def test_same_seed_same_history_and_other_seed_differs():
    a, b = run(), run()
    assert a == b
    assert a.iterations.time != [] and a.epochs.val_loss[0] is not None
    assert run(seed=1) != a
    assert a != "not a history"


def test_history_tables_and_trajectories():
    h = run()
    rows = h.rows("iterations")
    assert len(rows) == 6 and set(rows[0]) == {
        "iteration",
        "epoch",
        "loss",
        "lr",
        "samples_seen",
        "time",
    }
    assert [r["epoch"] for r in h.rows()] == [1, 2]
    assert [r["iteration"] for r in h.rows("evals")] == [0, 2, 4, 6]
    assert (
        h.final_train_loss == h.epochs.train_loss[-1] and h.final_val_loss == h.epochs.val_loss[-1]
    )
    w = h.param_trajectory("0.weight")
    assert w.shape == (7, 32, 1)  # initial + one row per update
    with pytest.raises(ValueError, match="name"):
        h.param_trajectory("nope")
    with pytest.raises(ValueError, match=r"RecordParams\(\)"):
        train(LinearModel(), linear_data(10), batch_size=5).param_trajectory("w")
    with pytest.raises(ValueError, match="which"):
        h.rows("batches")


def test_evals_use_all_the_data():
    h = train(
        LinearModel(), linear_data(30), batch_size=10, epochs=1, lr=0.1, hooks=[EvaluateEvery(1)]
    )
    model = LinearModel()
    assert h.evals.train_loss[0] == evaluate(model, linear_data(30))
    assert h.evals.iteration == [0, 1, 2, 3] and h.evals.val_loss == [None] * 4


def test_callback_can_stop_training():
    seen = []

    def stop_at_5(record):
        seen.append(record["iteration"])
        return record["iteration"] == 5

    h = train(
        LinearModel(), linear_data(40), batch_size=4, epochs=3, lr=0.01, hooks=[StopWhen(stop_at_5)]
    )
    assert seen == [1, 2, 3, 4, 5] and h.stopped_at == 5 and not h.diverged
    assert len(h.iterations.loss) == 5


def test_drop_last_and_batches_per_epoch():
    X, y = linear_data(10).tensors()
    h = train(LinearModel(), (X, y), batches=BatchIterator(X, y, batch_size=4, drop_last=True),
              epochs=2, lr=0.01)  # fmt: skip
    assert h.epochs.samples_seen == [8, 16] and h.config["drop_last"]
    draws = BatchIterator(X, y, batch_size=4, replacement=True, batches_per_epoch=5)
    h = train(LinearModel(), (X, y), batches=draws, lr=0.01)
    assert h.epochs.iteration == [5] and h.epochs.samples_seen == [20]


def test_a_data_loader_is_taken_as_it_is():
    """batches=DataLoader: each epoch is one pass over it, the same updates as its loop."""
    from torch.utils.data import DataLoader, TensorDataset

    X, y = DATA.tensors()

    def loader():
        return DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True,
                          generator=torch.Generator().manual_seed(4))  # fmt: skip

    ours, theirs = tutorial_mlp(seed=2), tutorial_mlp(seed=2)
    h = train(ours, DATA, epochs=2, lr=0.01, batches=loader())
    opt, losses, batches = torch.optim.SGD(theirs.parameters(), lr=0.01), [], loader()
    for _ in range(2):
        for xb, yb in batches:
            loss = mse_loss(theirs(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
    assert h.iterations.loss == losses and h.config["batch_size"] == 8
    assert h.config["batches"] == "DataLoader" and h.epochs.iteration == [5, 10]
    assert_same_bits(ours, theirs)


def test_evaluate_and_accuracy_restore_training_mode():
    model = digits_classifier(hidden=4)
    model.train()
    X, y = torch.zeros(6, 64), torch.zeros(6, dtype=torch.long)
    assert 0.0 <= accuracy(model, (X, y)) <= 1.0 and model.training
    assert evaluate(model, (X, y), "cross_entropy") > 0 and model.training


def test_resolve_batch_size():
    assert resolve_batch_size(None, 7) == resolve_batch_size("full", 7) == 7
    h = train(LinearModel(), linear_data(12), batch_size="full", epochs=2, lr=0.01)
    assert h.epochs.iteration == [1, 2] and h.config["batch_size"] == 12


X10, Y10 = torch.randn(10, 1), torch.randn(10, 1)


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        (dict(batch_size=0), ValueError, r"batch_size must be between 1 and 10, got 0"),
        (dict(batch_size=-3), ValueError, r"batch_size .* got -3"),
        (dict(batch_size=11), ValueError, r"batch_size must be between 1 and 10, got 11"),
        (dict(batch_size=2.0), TypeError, r"batch_size must be an integer, got 2.0"),
        (dict(batch_size="half"), ValueError, r"batch_size .*'full'.* got 'half'"),
        (dict(epochs=0), ValueError, r"epochs must be >= 1, got 0"),
        (dict(epochs=1.5), TypeError, r"epochs must be an integer, got 1.5"),
        (dict(lr=0), ValueError, r"lr must be a finite number in \(0.0, inf\], got 0"),
        (dict(lr=-0.1), ValueError, r"lr .* got -0.1"),
        (dict(lr=math.nan), ValueError, r"lr .* got nan"),
        (dict(lr=math.inf), ValueError, r"lr .* got inf"),
        (dict(lr="fast"), TypeError, r"lr must be a real number"),
        (dict(momentum=1.01), ValueError, r"momentum must be a finite number in \[0.0, 1.0\], got 1.01"),
        (dict(momentum=-0.1), ValueError, r"momentum .* got -0.1"),
        (dict(momentum=1.5), ValueError, r"momentum .* got 1.5"),
        (dict(nesterov=True), ValueError, r"nesterov=True needs momentum > 0"),
        (dict(nesterov=1, momentum=0.9), TypeError, r"nesterov must be True or False, got 1"),
        (dict(weight_decay=-1.0), ValueError, r"weight_decay .* got -1.0"),
        (dict(accumulation_steps=0), ValueError, r"accumulation_steps must be between 1 and 4, got 0"),
        (dict(accumulation_steps=5), ValueError, r"accumulation_steps must be between 1 and 4, got 5"),
        (dict(accumulation_steps=2.0), TypeError, r"accumulation_steps must be an integer"),
        (dict(seed=-1), ValueError, r"seed must be >= 0, got -1"),
        (dict(hooks=[3]), TypeError, r"hooks must be Hook instances .* got 3"),
        (dict(loss="mae"), ValueError, r"loss must be one of \['cross_entropy', 'mse'\], got 'mae'"),
        (dict(batches_per_epoch=3), TypeError, r"batches_per_epoch=\.\.\. is now batches=BatchIterator"),
        (dict(batches=iter([])), TypeError, r"batches is a one-shot iterator"),
        (dict(batches=3), TypeError, r"batches must be None, a DataLoader"),
        (dict(batches=BatchIterator(X10[:5], Y10[:5], batch_size=2)), ValueError, r"over 5 samples but data has n=10"),
        (dict(batches=BatchIterator(X10, Y10, batch_size=2), batch_size=4), ValueError, r"batch_size=4 disagrees with batches, whose batch size is 2"),
        (dict(betas=(0.9, 0.99)), ValueError, r"optimizer 'sgd' takes options among \['momentum', 'nesterov'\], got \['betas'\]"),
        (dict(val_data=(X10, Y10[:9])), ValueError, r"val_data: X and y must have the same length, got 10 and 9"),
        (dict(val_data=X10), TypeError, r"val_data must be a Dataset or an \(X, y\) pair"),
    ],
)  # fmt: skip
def test_bad_arguments_are_named(kwargs, error, pattern):
    base = dict(batch_size=4, lr=0.1)
    with pytest.raises(error, match=pattern):
        train(LinearModel(), (X10, Y10), **{**base, **kwargs})


@pytest.mark.parametrize(
    ("model", "data", "error", "pattern"),
    [
        (LinearModel(), (X10, Y10[:7]), ValueError, r"data: X and y must have the same length, got 10 and 7"),
        (LinearModel(), (X10[:0], Y10[:0]), ValueError, r"data is empty"),
        (LinearModel(), Dataset(X10[:0], Y10[:0]), ValueError, r"data is empty"),
        (LinearModel(), (X10.numpy(), Y10.numpy()), TypeError, r"data must hold torch tensors"),
        (LinearModel(), [X10], TypeError, r"data must be a Dataset or an \(X, y\) pair"),
        ("not a model", (X10, Y10), TypeError, r"model must be a torch.nn.Module"),
    ],
)  # fmt: skip
def test_bad_data_and_model_are_named(model, data, error, pattern):
    with pytest.raises(error, match=pattern):
        train(model, data, batch_size=2)


def test_make_optimizer_is_plain_sgd():
    opt = make_optimizer(LinearModel(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    assert type(opt) is torch.optim.SGD
    assert opt.defaults["nesterov"] is True and opt.defaults["weight_decay"] == 1e-4


def test_history_equality_counts_nan_as_nan_and_ignores_only_wall_time():
    def made(val_loss: float, time: float, w: float) -> History:
        h = History(config={"lr": 0.1}, params=[{"w": torch.tensor([w])}])
        h.epochs.epoch.append(1)
        h.epochs.val_loss.append(val_loss)
        h.epochs.time.append(time)
        return h

    nan = float("nan")
    assert made(nan, 1.0, nan) == made(float("nan"), 2.0, float("nan"))  # a blown-up rerun
    assert made(nan, 1.0, 0.0) != made(1.0, 1.0, 0.0)
    assert made(1.0, 1.0, 0.0) != made(1.0, 1.0, 1.0)
    other = made(1.0, 1.0, 0.0)
    other.diverged_at = 3
    assert made(1.0, 1.0, 0.0) != other


def test_history_equality_sees_diverged_at_without_params():
    a, b = History(config={}), History(config={})
    assert a == b
    b.diverged_at = 2
    assert a != b


def test_momentum_one_is_torch_sgd_with_a_velocity_that_never_decays():
    data = quadratic_data(64)
    ours = tutorial_mlp(seed=3)
    theirs = tutorial_mlp(seed=3)
    in_order = BatchIterator(data.X, data.y, batch_size=16, shuffle=False)
    h = train(ours, data, epochs=2, lr=1e-3, momentum=1.0, batches=in_order)
    X, y = data.X, data.y
    opt = torch.optim.SGD(theirs.parameters(), lr=1e-3, momentum=1.0)
    losses = []
    for _ in range(2):
        for xb, yb in zip(X.split(16), y.split(16)):
            loss = torch.nn.functional.mse_loss(theirs(xb), yb)
            loss.backward()
            losses.append(loss.item())
            opt.step()
            opt.zero_grad()
    assert h.iterations.loss == losses
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        (dict(batches=lambda e: [torch.arange(4)], shuffle=False), "shuffle=... is now batches="),
        (dict(optimizer=lambda m: torch.optim.Adam(m.parameters()), lr=0.1), "lr=0.1"),
        (dict(optimizer=lambda m: torch.optim.Adam(m.parameters()), momentum=0.9), "momentum=0.9"),
        (
            dict(optimizer="adam", momentum=0.9),
            "'momentum' belongs to optimizer 'sgd' or 'rmsprop'",
        ),
        (dict(optimizer="lbfgs"), "optimizer must be one of"),
        (dict(optimizer=lambda m: "adam"), "must return a torch.optim.Optimizer"),
        (dict(callback=3), r"callback=\.\.\. is now hooks=\[StopWhen\(condition\)\]"),
    ],
)
def test_contradictory_or_bad_arguments_raise_instead_of_one_silently_winning(kwargs, word):
    with pytest.raises((ValueError, TypeError), match=word):
        train(LinearModel(), (torch.ones(4, 1), torch.ones(4, 1)), batch_size=2, **kwargs)


@pytest.mark.parametrize("name", ["adagrad", "rmsprop", "adam", "adamw"])
def test_named_optimizers_match_torch(name):
    data = quadratic_data(32)
    ours, theirs = tutorial_mlp(seed=1), tutorial_mlp(seed=1)
    h = train(ours, data, batch_size=32, epochs=3, optimizer=name, weight_decay=0.01)
    kind = {"adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop,
            "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[name]  # fmt: skip
    opt = kind(theirs.parameters(), weight_decay=0.01)
    for _ in range(3):
        torch.nn.functional.mse_loss(theirs(data.X), data.y).backward()
        opt.step()
        opt.zero_grad()
    assert h.config["optimizer"] == kind.__name__ and h.config["lr"] == opt.defaults["lr"]
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    ("X", "y", "word"),
    [
        (
            torch.tensor([[1.0], [float("nan")]]),
            torch.zeros(2, 1),
            r"X holds a non-finite value \(nan\) in sample 1",
        ),
        (
            torch.zeros(2, 1),
            torch.tensor([[0.0], [float("inf")]]),
            r"y holds a non-finite value \(inf\) in sample 1",
        ),
        (
            torch.zeros(2, 1, dtype=torch.long),
            torch.zeros(2, 1),
            "X must hold floating-point values",
        ),
    ],
)
def test_bad_data_is_named_as_bad_data_not_divergence(X, y, word):
    with pytest.raises((ValueError, TypeError), match=word):
        train(LinearModel(), (X, y), batch_size=2)


def test_history_keeps_running_and_full_data_training_loss_apart():
    data = quadratic_data(96)
    model = tutorial_mlp(seed=2)
    h = train(model, data, batch_size=16, epochs=3, lr=0.01, val_data=data, hooks=[FullTrainLoss()])
    # the running mean is measured while the weights move; the full-data loss at the epoch's end
    running, full = h.epochs.train_loss, h.epochs.full_train_loss
    assert len(full) == 3 and all(isinstance(v, float) for v in full)
    assert running != full
    assert full[-1] == evaluate(model, data) == h.epochs.val_loss[-1]  # like for like
    assert train(tutorial_mlp(seed=2), data, batch_size=16).epochs.full_train_loss == [None]


def test_clip_grad_norm_is_clip_grad_norm_between_backward_and_step():
    data = quadratic_data(64)
    ours, theirs = tutorial_mlp(seed=5), tutorial_mlp(seed=5)
    h = train(ours, data, batch_size=64, epochs=3, lr=0.05, hooks=[ClipGradNorm(1.0)])
    opt = torch.optim.SGD(theirs.parameters(), lr=0.05)
    norms = []
    for _ in range(3):
        mse_loss(theirs(data.X), data.y).backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(theirs.parameters(), 1.0)))
        opt.step()
        opt.zero_grad()
    assert h.iterations.grad_norm == norms and max(norms) > 1.0  # it did clip
    assert all(torch.equal(a, b) for a, b in zip(ours.parameters(), theirs.parameters()))
    assert train(tutorial_mlp(), data, batch_size=64).iterations.grad_norm == [None]


def test_plateau_on_the_validation_loss_steps_once_per_epoch():
    data, val = quadratic_data(64), quadratic_data(32, seed=1)
    seen = []

    def plateau(opt):
        schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
        step = schedule.step
        schedule.step = lambda metric: (seen.append(metric), step(metric))
        return schedule

    h = train(tutorial_mlp(), data, batch_size=16, epochs=3, val_data=val,
              hooks=[StepScheduler(plateau, metric="val_loss")])  # fmt: skip
    assert seen == h.epochs.val_loss and h.config["scheduler"] == "ReduceLROnPlateau"
    with pytest.raises(ValueError, match="metric='val_loss'"):
        train(tutorial_mlp(), data, hooks=[StepScheduler(plateau, metric="val_loss")])
    with pytest.raises(ValueError, match="max_norm"):
        train(tutorial_mlp(), data, hooks=[ClipGradNorm(0)])
