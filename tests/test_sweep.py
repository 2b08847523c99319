"""sweep() must be K train() runs in one: same batches, same update rule, same History meaning."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn
from torch.optim.lr_scheduler import (
    CosineAnnealingLR,
    LambdaLR,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
)

from gdlessons.batching import BatchIterator
from gdlessons.data import digits_data, linear_data, quadratic_data
from gdlessons.hooks import RecordParams
from gdlessons.models import LinearModel, digits_classifier, tutorial_mlp
from gdlessons.sweep import OPTIONS, grid, sweep
from gdlessons.training import OPTIMIZERS, train

TOL = 1e-5  # on parameters, as the issue asks
LOSS_TOL = 1e-4  # a loss sums many rounded terms, so compare it a little more loosely
CONFIGS = [
    {"lr": 1e-3},
    {"lr": 2e-3, "momentum": 0.9},
    {"lr": 1e-3, "momentum": 0.5, "nesterov": True},
    {"lr": 5e-4, "momentum": 0.8, "weight_decay": 0.01},
]


def optimizer_settings(config: dict) -> dict:
    return {k: v for k, v in config.items() if k != "seed"}


def max_param_diff(a: nn.Module, b: nn.Module) -> float:
    return max(
        (p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters(), strict=True)
    )


def assert_same_history(h, ref, tol: float = LOSS_TOL) -> None:
    """Same counts exactly; losses equal to float rounding."""
    assert h.iterations.iteration == ref.iterations.iteration
    assert h.iterations.epoch == ref.iterations.epoch
    assert h.iterations.samples_seen == ref.iterations.samples_seen
    assert h.iterations.lr == ref.iterations.lr
    assert h.epochs.epoch == ref.epochs.epoch
    assert h.epochs.iteration == ref.epochs.iteration
    assert h.epochs.samples_seen == ref.epochs.samples_seen
    assert h.diverged_at == ref.diverged_at
    assert h.iterations.loss == pytest.approx(ref.iterations.loss, rel=tol, abs=tol)
    assert h.epochs.train_loss == pytest.approx(ref.epochs.train_loss, rel=tol, abs=tol)
    if ref.epochs.val_loss and ref.epochs.val_loss[0] is not None:
        assert h.epochs.val_loss == pytest.approx(ref.epochs.val_loss, rel=tol, abs=tol)
    else:
        assert h.epochs.val_loss == ref.epochs.val_loss
    for key in ("n", "batch_size", "epochs", "lr", "momentum", "nesterov", "weight_decay", "seed"):
        assert h.config[key] == ref.config[key], key


@pytest.mark.parametrize("batch_size", [1, 16, "full"], ids=["stochastic", "mini-batch", "batch"])
def test_each_configuration_matches_its_own_train_run(batch_size):
    data, val = quadratic_data(64, seed=1), quadratic_data(32, seed=2)
    models = [tutorial_mlp(hidden=8, seed=i) for i in range(len(CONFIGS))]
    kwargs = dict(batch_size=batch_size, epochs=4, val_data=val, seed=3)
    histories = sweep(models, data, CONFIGS, **kwargs)
    assert len(histories) == len(CONFIGS)
    for i, (config, model, h) in enumerate(zip(CONFIGS, models, histories, strict=True)):
        ref_model = tutorial_mlp(hidden=8, seed=i)
        ref = train(ref_model, data, **kwargs, **config)
        assert max_param_diff(model, ref_model) < TOL
        assert_same_history(h, ref)
        assert h.iterations.iteration[-1] == 4 * ref.config["iterations_per_epoch"]


def test_factory_seeds_give_different_initialisations_and_match_train():
    data = quadratic_data(48, seed=4)
    configs = [{"lr": 1e-3, "seed": 0}, {"lr": 1e-3, "seed": 5}]
    hs = sweep(
        lambda s: tutorial_mlp(hidden=8, seed=s),
        data,
        configs,
        batch_size=8,
        epochs=2,
        record_params=True,
    )
    assert not torch.equal(hs[0].params[0]["0.weight"], hs[1].params[0]["0.weight"])
    for config, h in zip(configs, hs, strict=True):
        ref_model = tutorial_mlp(hidden=8, seed=config["seed"])
        ref = train(
            ref_model, data, batch_size=8, epochs=2, lr=config["lr"], hooks=[RecordParams()]
        )
        assert h.config["init_seed"] == config["seed"]
        assert len(h.params) == len(ref.params) == 13
        for name, value in ref.params[-1].items():
            assert torch.allclose(h.params[-1][name], value, atol=TOL)
        assert torch.equal(h.params[0]["0.weight"], ref.params[0]["0.weight"])


def test_single_model_is_copied_and_list_is_trained_in_place():
    data = quadratic_data(32)
    model = tutorial_mlp(hidden=4)
    before = [p.detach().clone() for p in model.parameters()]
    sweep(model, data, [{"lr": 0.01}, {"lr": 0.02}], batch_size=8)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))
    models = [tutorial_mlp(hidden=4), tutorial_mlp(hidden=4)]
    sweep(models, data, [{"lr": 0.01}, {"lr": 0.02}], batch_size=8)
    assert not torch.equal(models[0][0].weight, before[0])
    assert not torch.equal(models[0][0].weight, models[1][0].weight)


def test_torch_func_path_matches_train_for_other_models_and_losses():
    data = linear_data(40, seed=1)
    configs = [{"lr": 0.1}, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}]
    models = [LinearModel(), LinearModel(w=1.0, b=1.0)]
    hs = sweep(models, data, configs, batch_size=8, epochs=3, record_params=True)
    for start, config, model, h in zip([(0.0, 0.0), (1.0, 1.0)], configs, models, hs, strict=True):
        ref_model = LinearModel(*start)
        ref = train(ref_model, data, batch_size=8, epochs=3, **config, hooks=[RecordParams()])
        assert max_param_diff(model, ref_model) < TOL
        assert_same_history(h, ref)
        assert torch.allclose(h.param_trajectory("w"), ref.param_trajectory("w"), atol=TOL)

    def mae(pred, y):  # a callable loss takes the torch.func path even for an MLP
        return (pred - y).abs().mean()

    mlps = [tutorial_mlp(hidden=8, seed=1)]
    h = sweep(
        mlps, quadratic_data(32), [{"lr": 0.01, "momentum": 0.9}], batch_size=4, epochs=2, loss=mae
    )[0]
    ref_model = tutorial_mlp(hidden=8, seed=1)
    ref = train(
        ref_model, quadratic_data(32), batch_size=4, epochs=2, loss=mae, lr=0.01, momentum=0.9
    )
    assert max_param_diff(mlps[0], ref_model) < TOL
    assert_same_history(h, ref)


def test_cross_entropy_classifier_matches_train():
    train_data, val = digits_data()
    small = (train_data.X[:200], train_data.y[:200])
    configs = [{"lr": 0.1}, {"lr": 0.05, "momentum": 0.9}]
    models = [digits_classifier(hidden=8, depth=2, seed=0) for _ in configs]
    kwargs = dict(epochs=2, loss="cross_entropy", val_data=val)

    def dropping():  # fresh batches (their own generator) for each run
        return BatchIterator(*small, batch_size=32, drop_last=True)

    hs = sweep(models, small, configs, batches=dropping(), **kwargs)
    for config, model, h in zip(configs, models, hs, strict=True):
        ref_model = digits_classifier(hidden=8, depth=2, seed=0)
        ref = train(ref_model, small, batches=dropping(), **kwargs, **config)
        assert max_param_diff(model, ref_model) < TOL
        assert_same_history(h, ref)


@pytest.mark.parametrize(
    "options",
    [{"accumulation_steps": 3}, {"replacement": True, "batches_per_epoch": 5}, {"shuffle": False},
     {"indices": True}],
    ids=["accumulation", "replacement", "no-shuffle", "index-function"],
)  # fmt: skip
def test_batching_options_match_train(options):
    """The same ``batches`` argument as train(): a BatchIterator's options, a function."""
    data = quadratic_data(40, seed=2)
    config = {"lr": 2e-3, "momentum": 0.9}

    def batches():
        if "accumulation_steps" in options:
            return None
        if "indices" in options:
            return lambda epoch: list(torch.randperm(40, generator=torch.Generator().manual_seed(epoch)).split(7))  # fmt: skip
        return BatchIterator(data.X, data.y, batch_size=7, **options)

    steps = options.get("accumulation_steps", 1)
    model = tutorial_mlp(hidden=8)
    h = sweep([model], data, [config], batch_size=7, epochs=3, batches=batches(), accumulation_steps=steps)[0]  # fmt: skip
    ref_model = tutorial_mlp(hidden=8)
    ref = train(ref_model, data, batch_size=7, epochs=3, batches=batches(), accumulation_steps=steps, **config)  # fmt: skip
    assert max_param_diff(model, ref_model) < TOL
    assert_same_history(h, ref)


def test_per_configuration_schedulers_match_train():
    data = quadratic_data(40, seed=3)
    configs = [
        {"lr": 1e-3},
        {"lr": 2e-3, "momentum": 0.9, "scheduler": lambda opt: StepLR(opt, step_size=7, gamma=0.5)},
        {"lr": 1e-3, "scheduler": lambda opt: LambdaLR(opt, lambda it: 1 / (1 + it))},
        # OneCycleLR also cycles the momentum, which the sweep must follow too.
        {
            "lr": 1e-3,
            "momentum": 0.9,
            "scheduler": lambda opt: OneCycleLR(opt, max_lr=5e-3, total_steps=15),
        },
    ]
    models = [tutorial_mlp(hidden=8) for _ in configs]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hs = sweep(models, data, configs, batch_size=8, epochs=3)
    for config, model, h in zip(configs, models, hs, strict=True):
        ref_model = tutorial_mlp(hidden=8)
        ref = train(ref_model, data, batch_size=8, epochs=3, **config)
        assert max_param_diff(model, ref_model) < TOL
        assert h.iterations.lr == ref.iterations.lr
        assert h.config["scheduler"] == ref.config["scheduler"]
        assert_same_history(h, ref)
    assert len(set(hs[3].iterations.lr)) > 5


def _swept_and_alone(data, configs: list[dict], *, epochs: int):
    """Each configuration swept (no warning allowed) and trained alone; the 2nd and 4th diverge,
    each at the iteration it diverges at alone. Yields (model, history, model alone, history
    alone)."""
    models = [tutorial_mlp(hidden=8) for _ in configs]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hs = sweep(models, data, configs, batch_size=8, epochs=epochs, val_data=data)
    assert [h.diverged for h in hs] == [False, True, False, True]
    for config, model, h in zip(configs, models, hs, strict=True):
        ref_model = tutorial_mlp(hidden=8)
        ref = train_alone(ref_model, data, config, batch_size=8, epochs=epochs, val_data=data)
        assert h.diverged_at == ref.diverged_at
        yield model, h, ref_model, ref


def test_divergence_is_isolated_without_nan_or_warnings():
    data = quadratic_data(64, seed=1)
    configs = [
        {"lr": 1e-3},
        {"lr": 5.0},
        {"lr": 1e-3, "momentum": 0.9},
        {"lr": 10.0, "momentum": 0.9},
    ]
    for model, h, ref_model, ref in _swept_and_alone(data, configs, epochs=3):
        assert h.epochs.epoch == ref.epochs.epoch
        assert len(h.iterations.loss) == len(ref.iterations.loss)
        assert all(math.isfinite(v) for v in h.iterations.loss)
        # A diverged copy keeps the parameters it had before its first non-finite loss.
        assert all(torch.isfinite(p).all() for p in model.parameters())
        for p, q in zip(model.parameters(), ref_model.parameters(), strict=True):
            assert torch.allclose(p, q, rtol=1e-4, atol=TOL)
        if not ref.diverged:
            assert_same_history(h, ref)


def test_each_history_stops_at_its_own_divergence():
    data = quadratic_data(64, seed=1)
    hs = sweep(tutorial_mlp(hidden=8), data, [{"lr": 10.0}, {"lr": 20.0}], batch_size=8, epochs=50)
    assert all(h.diverged_at is not None and h.diverged_at < 16 for h in hs)
    for h in hs:  # 8 iterations per epoch: only epochs completed before the divergence count
        assert len(h.iterations.loss) == h.diverged_at - 1
        assert h.epochs.epoch == list(range(1, (h.diverged_at - 1) // 8 + 1))


def test_grid_builds_every_combination():
    configs = grid(lr=[0.1, 0.01, 0.001], momentum=[0.0, 0.9])
    assert len(configs) == 6
    assert {"lr": 0.001, "momentum": 0.9} in configs
    with pytest.raises(ValueError, match="grid keys must be among"):
        grid(learning_rate=[0.1])


@pytest.mark.parametrize(
    ("configs", "error", "message"),
    [
        ({"lr": 0.1}, TypeError, "configs must be a list of dicts"),
        ([], ValueError, "at least one configuration"),
        ([0.1], TypeError, r"configs\[0\] must be a dict"),
        ([{"momentum": 0.9}], ValueError, r"configs\[0\] needs an 'lr'"),
        (
            [{"lr": 0.1, "betas": 0.9}],
            ValueError,
            r"configs\[0\]: optimizer 'sgd' takes options among",
        ),
        ([{"lr": 0.1}, {"lr": 0.0}], ValueError, r"configs\[1\]\['lr'\] must be"),
        ([{"lr": 0.1, "momentum": 1.5}], ValueError, r"\['momentum'\] must be"),
        ([{"lr": 0.1, "nesterov": True}], ValueError, "nesterov=True needs momentum > 0"),
        ([{"lr": 0.1, "momentum": 0.9, "nesterov": 1}], TypeError, "must be True or False"),
        ([{"lr": 0.1, "weight_decay": -1.0}], ValueError, r"\['weight_decay'\] must be"),
        ([{"lr": 0.1, "seed": 3}], ValueError, "needs models to be a factory"),
        (
            [{"lr": 0.1, "optimizer": torch.optim.Adam}],
            TypeError,
            r"\['optimizer'\] must be one of",
        ),
        (
            [{"lr": 0.1, "optimizer": "adam", "momentum": 0.9}],
            ValueError,
            r"optimizer 'adam' takes options .*, got \['momentum'\] \('momentum' belongs to optimizer 'sgd' or 'rmsprop'\)",
        ),
        (
            [{"lr": 0.1, "optimizer": "rmsprop", "nesterov": True}],
            ValueError,
            r"optimizer 'rmsprop' takes options among \['alpha', 'eps', 'momentum'\] \(besides .*\), got \['nesterov'\]",
        ),
        (
            [{"lr": 0.1, "optimizer": "adam", "betas": 0.9}],
            TypeError,
            r"\['betas'\] must be a pair",
        ),
        (
            [{"lr": 0.1, "optimizer": "adamw", "betas": (0.9, 1.0)}],
            ValueError,
            r"configs\[0\]\['betas'\]\[1\] must be a finite number in \[0.0, 1.0\), got 1.0",
        ),
        ([{"lr": 0.1, "optimizer": "rmsprop", "alpha": 1.5}], ValueError, r"\['alpha'\] must be"),
        (
            [{"lr": 0.1, "optimizer": "rmsprop", "momentum": -0.1}],
            ValueError,
            r"\['momentum'\] must be",
        ),
        ([{"lr": 0.1, "optimizer": "adam", "eps": -1e-8}], ValueError, r"\['eps'\] must be"),
        (
            [{"lr": 0.1, "optimizer": "adagrad", "lr_decay": -1}],
            ValueError,
            r"\['lr_decay'\] must be",
        ),
        (
            [{"lr": 0.1, "optimizer": "adagrad", "initial_accumulator_value": "0"}],
            TypeError,
            r"\['initial_accumulator_value'\] must be a real number",
        ),
        (
            [{"lr": 0.1}, {"lr": 0.1, "scheduler": 3}],
            TypeError,
            r"configs\[1\]\['scheduler'\]: scheduler must be",
        ),
    ],
)
def test_bad_configs_are_named(configs, error, message):
    with pytest.raises(error, match=message):
        sweep(tutorial_mlp(hidden=4), quadratic_data(40), configs)


def test_bad_models_and_options_are_named():
    data, two = quadratic_data(40), [{"lr": 0.1}, {"lr": 0.2}]
    with pytest.raises(ValueError, match="one model per configuration"):
        sweep([tutorial_mlp(hidden=4)], data, two)
    with pytest.raises(ValueError, match="same parameters"):
        sweep([tutorial_mlp(hidden=4), tutorial_mlp(hidden=5)], data, two)
    with pytest.raises(ValueError, match="distinct objects"):
        model = tutorial_mlp(hidden=4)
        sweep([model, model], data, two)
    with pytest.raises(TypeError, match=r"models\[1\] must be a torch.nn.Module"):
        sweep([tutorial_mlp(hidden=4), "mlp"], data, two)
    with pytest.raises(TypeError, match="models must be a torch.nn.Module"):
        sweep(3, data, two)
    with pytest.raises(TypeError, match=r"models\(0\) must return"):
        sweep(lambda seed: None, data, two)
    with pytest.raises(ValueError, match="without buffers"):
        sweep(nn.Sequential(nn.Linear(1, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)), data, two)
    with pytest.raises(ValueError, match="epochs must be"):
        sweep(tutorial_mlp(hidden=4), data, two, epochs=0)
    with pytest.raises(ValueError, match="batch_size must be"):
        sweep(tutorial_mlp(hidden=4), data, two, batch_size=0)
    with pytest.raises(ValueError, match="loss must be one of"):
        sweep(tutorial_mlp(hidden=4), data, two, loss="hinge")
    with pytest.raises(TypeError, match="record_params must be True or False"):
        sweep(tutorial_mlp(hidden=4), data, two, record_params="yes")
    with pytest.raises(TypeError, match="data must be a Dataset"):
        sweep(tutorial_mlp(hidden=4), [1, 2, 3], two)


# --- adaptive optimizers --------------------------------------------------------------------------

# Every configuration's parameters and per-iteration losses equal its own train() run's to
# these tolerances (float32, >= 50 iterations). Not bitwise: the batched matrix products add in
# another order than one model's, and the difference then travels through the update rule.
RTOL, ATOL = 1e-5, 1e-6
# Two settings per optimizer: torch's defaults, and other values of its own arguments.
VARIANTS = {
    "sgd": [{"lr": 0.01, "momentum": 0.9}, {"lr": 0.005, "momentum": 0.8, "nesterov": True}],
    "adagrad": [
        {"lr": 0.05},
        {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "eps": 1e-6},
    ],
    "rmsprop": [{"lr": 3e-3}, {"lr": 1e-3, "alpha": 0.9, "eps": 1e-6, "momentum": 0.5}],
    "adam": [{"lr": 3e-3}, {"lr": 3e-3, "betas": (0.8, 0.99), "eps": 1e-6}],
    "adamw": [{"lr": 3e-3}, {"lr": 3e-3, "betas": (0.8, 0.99), "eps": 1e-6}],
}
TRAIN_KEYS = {"optimizer", "lr", "momentum", "nesterov", "weight_decay", "scheduler"}


def with_optimizer(name: str, weight_decays=(0.0, 0.05)) -> list[dict]:
    return [
        {"optimizer": name, **variant, "weight_decay": wd}
        for variant in VARIANTS[name]
        for wd in weight_decays
    ]


def train_alone(model: nn.Module, data, config: dict, **kwargs):
    """train() with the configuration's optimizer: by name where train() takes every setting by
    name, else through a factory building the torch.optim class with the same arguments."""
    by_name = config.get("optimizer", "sgd") == "sgd" or "momentum" not in config
    if by_name and set(config) <= TRAIN_KEYS:
        return train(model, data, **config, **kwargs)
    settings = {k: v for k, v in config.items() if k not in ("optimizer", "scheduler")}
    kind = OPTIMIZERS[config["optimizer"]]
    return train(
        model,
        data,
        optimizer=lambda m: kind(m.parameters(), **settings),
        scheduler=config.get("scheduler"),
        **kwargs,
    )


def assert_matches_train(h, model: nn.Module, ref, ref_model: nn.Module) -> None:
    """Counts, rates and settings exactly; parameters and losses to RTOL / ATOL."""
    assert len(ref.iterations.loss) >= 50
    assert_same_history(h, ref)
    assert h.config["optimizer"] == ref.config["optimizer"]
    for p, q in zip(model.parameters(), ref_model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=RTOL, atol=ATOL)
    losses = [(h.iterations.loss, ref.iterations.loss)]
    if ref.epochs.val_loss[0] is not None:
        losses.append((h.epochs.val_loss, ref.epochs.val_loss))
    for mine, theirs in losses:
        torch.testing.assert_close(torch.tensor(mine), torch.tensor(theirs), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", list(OPTIONS))
def test_each_optimizer_matches_train_on_the_mlp_path(name):
    data, val = quadratic_data(64, seed=1), quadratic_data(32, seed=2)
    configs = with_optimizer(name)
    models = [tutorial_mlp(hidden=8, seed=i) for i in range(len(configs))]
    kwargs = dict(batch_size=8, epochs=8, val_data=val, seed=3)  # 64 iterations
    histories = sweep(models, data, configs, **kwargs)
    for i, (config, model, h) in enumerate(zip(configs, models, histories, strict=True)):
        ref_model = tutorial_mlp(hidden=8, seed=i)
        ref = train_alone(ref_model, data, config, **kwargs)
        assert_matches_train(h, model, ref, ref_model)
        for key, value in config.items():  # the optimizer's own arguments are recorded too
            if key != "optimizer":
                assert h.config[key] == value


def test_optimizers_mix_in_one_sweep_on_the_torch_func_path():
    configs = [c for name in OPTIONS for c in with_optimizer(name)]
    starts = [(0.5 * (i % 3), 1.0 - 0.2 * (i % 4)) for i in range(len(configs))]
    models = [LinearModel(*start) for start in starts]
    data = linear_data(64, seed=1)
    kwargs = dict(batch_size=8, epochs=7, val_data=linear_data(32, seed=2), seed=4)
    histories = sweep(models, data, configs, record_params=True, **kwargs)
    for start, config, model, h in zip(starts, configs, models, histories, strict=True):
        ref_model = LinearModel(*start)
        ref = train_alone(ref_model, data, config, hooks=[RecordParams()], **kwargs)
        assert_matches_train(h, model, ref, ref_model)
        torch.testing.assert_close(h.param_trajectory("w"), ref.param_trajectory("w"), rtol=RTOL, atol=ATOL)  # fmt: skip


def test_schedulers_drive_every_optimizer():
    total = 64  # iterations: 8 epochs of 8 batches

    def one_cycle(opt):  # cycles Adam's beta1, SGD's and RMSProp's momentum too
        return OneCycleLR(opt, max_lr=1e-2, total_steps=total)

    configs = [
        {"optimizer": "sgd", "lr": 3e-3, "momentum": 0.9, "scheduler": one_cycle},
        {"optimizer": "adagrad", "lr": 0.05, "scheduler": lambda o: CosineAnnealingLR(o, total)},
        {"optimizer": "rmsprop", "lr": 3e-3, "momentum": 0.9, "scheduler": one_cycle},
        {
            "optimizer": "rmsprop",
            "lr": 3e-3,
            "scheduler": lambda o: LambdaLR(o, lambda i: 1 / (1 + i)),
        },  # fmt: skip
        {"optimizer": "adam", "lr": 3e-3, "scheduler": one_cycle},
        {
            "optimizer": "adamw",
            "lr": 3e-3,
            "weight_decay": 0.1,
            "scheduler": lambda o: StepLR(o, 7, 0.5),
        },  # fmt: skip
        {"optimizer": "adam", "lr": 1e-3},  # no scheduler beside scheduled ones
        {
            "optimizer": "rmsprop",
            "lr": 3e-3,
            "scheduler": lambda o: ReduceLROnPlateau(o, patience=2),
        },  # fmt: skip
    ]
    data = quadratic_data(64, seed=1)
    models = [tutorial_mlp(hidden=8, seed=2) for _ in configs]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        histories = sweep(models, data, configs, batch_size=8, epochs=8, seed=5)
    for config, model, h in zip(configs, models, histories, strict=True):
        ref_model = tutorial_mlp(hidden=8, seed=2)
        ref = train_alone(ref_model, data, config, batch_size=8, epochs=8, seed=5)
        assert_matches_train(h, model, ref, ref_model)
        assert h.config["scheduler"] == ref.config["scheduler"]
        assert len(set(h.iterations.lr)) > (1 if "scheduler" in config else 0)


def test_a_diverging_adaptive_configuration_stops_alone():
    data = quadratic_data(64, seed=1)
    configs = [
        {"optimizer": "adam", "lr": 1e-3},
        {"optimizer": "adam", "lr": 1e30},  # a step of about lr: the loss overflows float32
        {"optimizer": "rmsprop", "lr": 1e-3, "momentum": 0.9},
        {"optimizer": "rmsprop", "lr": 1e30},
    ]
    for model, h, ref_model, ref in _swept_and_alone(data, configs, epochs=7):
        assert all(torch.isfinite(p).all() for p in model.parameters())
        if not ref.diverged:
            assert_matches_train(h, model, ref, ref_model)
        else:  # it keeps the parameters it had before its first non-finite loss, as in train()
            assert h.iterations.loss == pytest.approx(ref.iterations.loss, rel=RTOL, abs=ATOL)
            for p, q in zip(model.parameters(), ref_model.parameters(), strict=True):
                torch.testing.assert_close(p, q, rtol=RTOL, atol=ATOL)


def test_an_unknown_optimizer_is_named_with_the_choices():
    with pytest.raises(ValueError) as error:
        sweep(tutorial_mlp(hidden=4), quadratic_data(40), [{"lr": 0.1}, {"optimizer": "adamax", "lr": 0.1}])  # fmt: skip
    message = str(error.value)
    assert message.startswith("configs[1]['optimizer'] must be one of")
    assert "'adamax'" in message
    assert all(repr(name) in message for name in OPTIMIZERS)


def test_optimizer_names_ignore_case_and_grid_takes_their_arguments():
    configs = grid(optimizer=["Adam", "rmsprop"], lr=[1e-3], eps=[1e-8, 1e-6])
    assert len(configs) == 4
    hs = sweep(tutorial_mlp(hidden=4), quadratic_data(40), configs, batch_size=8)
    assert [h.config["optimizer"] for h in hs] == ["Adam", "Adam", "RMSprop", "RMSprop"]
    assert [h.config["eps"] for h in hs] == [1e-8, 1e-6, 1e-8, 1e-6]
