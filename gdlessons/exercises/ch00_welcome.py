"""Chapter 00 exercises: parameters, hyperparameters and initialisation.

The story's your-turn cells: t1 counts a model's learned parameters, t2 computes the bound of
``nn.init.kaiming_uniform_`` for any leaky-ReLU slope, t3 draws He-uniform weights by hand,
checked by :class:`~gdlessons.exercises.code.CodeExercise` on fresh seeded weights against
``nn.init``'s own draws from the same seed (within 1e-6: the chapter compares initialisations by
their formulas, not bit for bit). At the end: q1 to q4 take a number or a word, q5 a function
(He-normal for a whole network, through ``nn.init``).

>>> q1.check(1040).correct, t3.check(...).status
(True, 'not attempted')
"""

from __future__ import annotations

import math
import reprlib

import torch
from torch import nn

from gdlessons.exercises import Exercise, as_number, expect_choice, expect_close, expect_int
from gdlessons.exercises.code import CodeExercise, Mistake, first_difference
from gdlessons.models import batchnorm_mlp, initialise, tutorial_mlp

TOLERANCE = dict(atol=1e-6, rtol=1e-5)  # the same draws, up to float rounding of the bound


# --- t1: counting the learned parameters ------------------------------------------------------


def _count_parameters(model):
    """The course's ``gdlessons.models.count_parameters``: the scalars training changes."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _count_cases():
    # The tutorial MLP; one with BatchNorm, whose running statistics are buffers, not
    # parameters; one whose first layer is frozen (requires_grad=False: training leaves it).
    with torch.random.fork_rng(devices=[]):  # building the layers draws: keep the caller's draws
        frozen = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    frozen[0].requires_grad_(False)
    return [
        dict(model=tutorial_mlp(seed=0)),
        dict(model=batchnorm_mlp(hidden=8, seed=1)),
        dict(model=frozen),
    ]


def _what_model(model) -> str:
    if any(not p.requires_grad for p in model.parameters()):
        return "a network with a frozen layer"
    if any(True for _ in model.buffers()):
        return "a network with BatchNorm layers"
    return "the tutorial MLP"


def _compare_counts(got, want, case):
    value = as_number(got)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"return the count as one number; you returned {reprlib.repr(got)}"
    if value == want:
        return None
    return f"for {_what_model(case['model'])}, your count is {value:g}, expected {want}"


def _weights_only(model):
    return sum(p.numel() for name, p in model.named_parameters() if name.endswith("weight"))


def _tensors_not_numbers(model):
    return len([p for p in model.parameters() if p.requires_grad])


def _shape_sums(model):
    return sum(sum(p.shape) for p in model.parameters() if p.requires_grad)


def _state_dict_entries(model):
    return sum(v.numel() for v in model.state_dict().values())


def _frozen_counted(model):
    return sum(p.numel() for p in model.parameters())


t1 = CodeExercise(
    "t1",
    "Write `count_parameters(model)`: how many numbers training learns in `model`, the scalars "
    "of every parameter tensor that requires a gradient (a frozen one, requires_grad=False, is "
    "left alone by training). Checked on the tutorial MLP, a network with BatchNorm layers "
    "(whose running statistics are buffers, not parameters) and one with a frozen layer.",
    reference=_count_parameters,
    cases=_count_cases,
    compare=_compare_counts,
    mistakes=(
        Mistake(
            _weights_only,
            "You counted the weights only: every bias is learned too, one per output unit.",
            hint="Go over all of `model.parameters()`, weights and biases alike.",
        ),
        Mistake(
            _tensors_not_numbers,
            "You counted the parameter tensors, not the numbers in them: the middle layer's "
            "weight alone holds 32 × 32 numbers.",
            hint="`p.numel()` is how many numbers the tensor p holds.",
        ),
        Mistake(
            _shape_sums,
            "You added the sizes of each tensor's dimensions: a (32, 32) weight holds 32 × 32 "
            "numbers, not 32 + 32.",
            hint="`p.numel()` multiplies the dimensions for you.",
        ),
        Mistake(
            _state_dict_entries,
            "You counted the state_dict(), which also holds buffers, BatchNorm's running "
            "statistics, that no gradient ever changes; and the frozen layer too.",
            hint="Count `model.parameters()`, not `model.state_dict()`.",
        ),
        Mistake(
            _frozen_counted,
            "You counted the frozen layer too: a parameter with requires_grad=False gets no "
            "gradient, so training never changes it.",
            hint="Keep only the parameters with `p.requires_grad`.",
        ),
    ),  # fmt: skip
    hint=[
        "Go over the model's parameter tensors, keep those training changes, and add up how "
        "many numbers each holds.",
        "`model.parameters()` hands out the tensors; `p.requires_grad` says whether training "
        "changes p and `p.numel()` how many numbers it holds; `sum(...)` adds them up.",
    ],
    solution="""def count_parameters(model):
    # numbers, not tensors
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
""",
)


# --- t2: the bound of kaiming_uniform_ --------------------------------------------------------


def _kaiming_bound(fan_in, a):
    """The bound b of U(-b, b) that ``nn.init.kaiming_uniform_(w, a=a)`` draws from."""
    return nn.init.calculate_gain("leaky_relu", a) * math.sqrt(3 / fan_in)


def _bound_cases():
    return [dict(fan_in=32, a=math.sqrt(5)), dict(fan_in=100, a=0.0), dict(fan_in=7, a=1.0)]


def _compare_bounds(got, want, case):
    value = as_number(got)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"return the bound as one number; you returned {reprlib.repr(got)}"
    if math.isclose(value, want, rel_tol=1e-6):
        return None
    return f"your bound is {value:.6g}, expected {want:.6g} (within a relative 1e-6)"


def _std_not_bound(fan_in, a):
    return math.sqrt(2 / (1 + a**2)) / math.sqrt(fan_in)


def _a_ignored(fan_in, a):
    return math.sqrt(6 / fan_in)


def _a_not_squared(fan_in, a):
    return math.sqrt(6 / ((1 + a) * fan_in))


def _gain_squared(fan_in, a):
    return 2 / (1 + a**2) * math.sqrt(3 / fan_in)


def _always_default(fan_in, a):
    return 1 / math.sqrt(fan_in)


t2 = CodeExercise(
    "t2",
    "Write `kaiming_bound(fan_in, a)`: the bound b of the uniform distribution U(−b, b) that "
    "nn.init.kaiming_uniform_(weight, a=a) draws a weight with fan_in inputs from: "
    "b = gain · √(3/fan_in), with the leaky-ReLU gain √(2/(1 + a²)). Checked against nn.init's "
    "own gain for a = √5 (PyTorch's default), a = 0 (ReLU) and a = 1, within a relative 1e-6.",
    reference=_kaiming_bound,
    cases=_bound_cases,
    compare=_compare_bounds,
    mistakes=(
        Mistake(
            _std_not_bound,
            "That is the standard deviation gain/√fan_in, not the bound: U(−b, b) has standard "
            "deviation b/√3, so b = √3 · gain/√fan_in.",
            hint="b = gain · √(3 / fan_in): mind the 3.",
        ),
        Mistake(
            _a_ignored,
            "Your bound ignores a: √(6/fan_in) is right for ReLU (a = 0) only. PyTorch's default "
            "a = √5 narrows it to 1/√fan_in.",
            hint="The gain depends on a: √(2 / (1 + a²)).",
        ),
        Mistake(
            _a_not_squared,
            "Your gain divides by 1 + a, not 1 + a²: the slope a enters squared.",
            hint="`1 + a**2` in the gain.",
        ),
        Mistake(
            _gain_squared,
            "Your gain is 2/(1 + a²), the square of the gain: the gain is its square root.",
            hint="gain = √(2 / (1 + a²)): take the square root.",
        ),
        Mistake(
            _always_default,
            "That is PyTorch's default bound 1/√fan_in whatever a is: right for a = √5 only.",
            hint="Compute the gain from a: √(2 / (1 + a²)).",
        ),
    ),  # fmt: skip
    hint=[
        "Two factors: the gain, which depends on the slope a only, and √(3/fan_in).",
        "gain = √(2 / (1 + a²)) (`math.sqrt`, and `a**2` for a²); the bound is the gain times "
        "√(3 / fan_in). Check: a = √5 gives 1/√fan_in.",
    ],
    solution="""import math


def kaiming_bound(fan_in, a):
    # a leaky ReLU of slope a; a = 0 is ReLU, gain √2
    gain = math.sqrt(2 / (1 + a**2))
    return gain * math.sqrt(3 / fan_in)  # U(-b, b) has std b/√3 = gain/√fan_in
""",
)


# --- t3: He-uniform by hand -------------------------------------------------------------------


def _kaiming_uniform(weight):
    nn.init.kaiming_uniform_(weight, nonlinearity="relu")


def _weight_cases():
    # Every fan-in differs from its fan-out, so a swapped fan is seen.
    return [
        dict(weight=torch.zeros(out, fan_in)) for out, fan_in in ((32, 64), (512, 16), (10, 100))
    ]


def _filled_weight(returned, args):
    return args["weight"]


def _compare_weights(got, want, case):
    out, fan_in = case["weight"].shape
    message = first_difference(got, want, bitwise=False, name="the weight", **TOLERANCE)
    if message is None:
        return None
    return f"for a weight of shape ({out}, {fan_in}) (fan_in = {fan_in}), {message}"


def _uniform(weight, bound):
    with torch.no_grad():
        weight.uniform_(-bound, bound)


def _fan_out_uniform(weight):
    _uniform(weight, math.sqrt(6 / weight.shape[0]))


def _std_as_bound(weight):
    _uniform(weight, math.sqrt(2 / weight.shape[1]))


def _default_bound(weight):
    _uniform(weight, 1 / math.sqrt(weight.shape[1]))


def _no_square_root(weight):
    _uniform(weight, 6 / weight.shape[1])


def _normal_not_uniform(weight):
    with torch.no_grad():
        weight.normal_(0.0, math.sqrt(2 / weight.shape[1]))


def _new_tensor(weight):
    bound = math.sqrt(6 / weight.shape[1])
    return torch.empty_like(weight).uniform_(-bound, bound)


t3 = CodeExercise(
    "t3",
    "Write `he_uniform_(weight)`: fill the weight matrix of an nn.Linear (shape out × in) in "
    "place with draws from U(−√(6/fan_in), √(6/fan_in)), without nn.init. The check seeds the "
    "random generator and compares your weights with what nn.init.kaiming_uniform_(weight, "
    "nonlinearity='relu') draws from the same seed, within 1e-6.",
    reference=_kaiming_uniform,
    cases=_weight_cases,
    outcome=_filled_weight,
    compare=_compare_weights,
    mistakes=(
        Mistake(
            _fan_out_uniform,
            "You used the number of outputs, weight.shape[0], as the fan-in: the weight of "
            "nn.Linear(in, out) has shape (out, in), so fan_in = weight.shape[1].",
            hint="fan_in = weight.shape[1], the number of inputs.",
        ),
        Mistake(
            _std_as_bound,
            "Your weights are √3 times too narrow: √(2/fan_in) is He's standard deviation, not "
            "the bound. U(−b, b) has standard deviation b/√3, so b = √3 · √(2/fan_in) = √(6/fan_in).",
            hint="The bound is √3 times the standard deviation: √(6 / fan_in).",
        ),
        Mistake(
            _default_bound,
            "That is PyTorch's default range U(±1/√fan_in), what reset_parameters() draws; "
            "He initialisation is √6 ≈ 2.4 times wider.",
            hint="He's bound for ReLU is √(6 / fan_in).",
        ),
        Mistake(
            _no_square_root,
            "Your bound is 6/fan_in: the square root is missing (b = √(6/fan_in)).",
            hint="`math.sqrt(6 / fan_in)`.",
        ),
        Mistake(
            _normal_not_uniform,
            "Your weights have He's spread but come from a normal distribution: "
            "kaiming_uniform_ draws uniformly, every value equally likely between −b and b.",
            hint="`weight.uniform_(-bound, bound)` draws uniformly.",
        ),
        Mistake(
            _new_tensor,
            "The weight you were given is unchanged (still all zeros): your function built a new "
            "tensor. Fill the given one in place, as nn.init's functions do (the trailing _ of "
            "`uniform_` means in place).",
            hint="`weight.uniform_(-bound, bound)` changes `weight` itself.",
        ),
    ),  # fmt: skip
    hint=[
        "Three steps: fan_in from the weight's shape, the bound b from fan_in, then fill the "
        "given tensor (not a new one) with uniform draws between -b and b.",
        "nn.Linear(in, out).weight has shape (out, in), so fan_in is its second dimension; "
        "b = √(6 / fan_in); a tensor method whose name ends in `_` draws uniformly in place.",
    ],
    solution="""import math


def he_uniform_(weight):
    fan_in = weight.shape[1]  # nn.Linear(in, out).weight has shape (out, in)
    bound = math.sqrt(6 / fan_in)  # std √(2/fan_in) = bound / √3
    weight.uniform_(-bound, bound)  # in place, from the global generator
""",
)


# --- q1 to q4: a number or a word ------------------------------------------------------------

# The layer and fan-ins differ from every one the chapter prints (Linear(32, 32), fan-in 32).
Q1_IN, Q1_OUT = 64, 16
q1 = Exercise(
    "q1",
    f"How many learned parameters does one nn.Linear({Q1_IN}, {Q1_OUT}) layer hold (weights and "
    "biases)?",
    expect_int(
        Q1_IN * Q1_OUT + Q1_OUT,
        mistakes={
            Q1_IN * Q1_OUT: "You counted the weights only: every output unit also has a bias.",
            Q1_IN * Q1_OUT + Q1_IN: "You gave one bias per input; a bias is added to each output "
            "unit, so there is one per output.",
            Q1_IN * Q1_OUT + 1: "You gave the whole layer one bias; each output unit has its own.",
            Q1_IN + Q1_OUT: "You added the inputs and the outputs: every input is connected to "
            "every output, and each connection has its own weight.",
            (Q1_IN + 1) * (Q1_OUT + 1): "You added a bias to both sides: the inputs get none, only "
            "the outputs do.",
        },
    ),
    hint=[
        "Count the weights (one per connection from an input to an output), then the biases.",
        "nn.Linear(in, out) holds a weight matrix of shape (out, in) and a bias vector of "
        "length out; the chapter's parameter table lists them as `2.weight` and `2.bias`.",
    ],
    solution=f"{Q1_OUT} × {Q1_IN} weights + {Q1_OUT} biases = {Q1_IN * Q1_OUT + Q1_OUT}.",
)

Q2_FAN_IN = 128
q2 = Exercise(
    "q2",
    f"What standard deviation does kaiming_normal_ (ReLU) give the weights of a layer with "
    f"fan-in {Q2_FAN_IN}?",
    expect_close(
        math.sqrt(2 / Q2_FAN_IN),
        rtol=0.01,
        mistakes={
            2 / Q2_FAN_IN: "That is the variance, 2/fan_in: the standard deviation is its "
            "square root.",
            1 / math.sqrt(Q2_FAN_IN): "That is √(1/fan_in), without He's factor 2 for ReLU "
            "(ReLU zeroes half of its inputs, and the 2 makes up for it).",
            math.sqrt(6 / Q2_FAN_IN): "That is the bound of kaiming_uniform_, √(6/fan_in); "
            "the question asks for the standard deviation of kaiming_normal_.",
            1 / math.sqrt(3 * Q2_FAN_IN): "That is the standard deviation of PyTorch's default "
            "initialisation, 1/√(3·fan_in), not He's.",
            math.sqrt(2) / Q2_FAN_IN: "The square root covers the 2 only: it is the square root "
            "of the whole variance 2/fan_in.",
        },
    ),
    hint=[
        "He initialisation picks the weight variance that keeps ReLU activations' spread steady "
        "from layer to layer; the standard deviation follows from it.",
        "Var(w) = 2 / fan_in (the 2 makes up for ReLU zeroing half its inputs), and the standard "
        "deviation is √Var(w).",
    ],
    solution=f"std = √(2 / {Q2_FAN_IN}) = {math.sqrt(2 / Q2_FAN_IN):.4g}.",
)

q3 = Exercise(
    "q3",
    "Which of these is a hyperparameter: 'bias of layer 0', 'learning rate' or 'weight of layer 2'?",
    expect_choice(
        "learning rate",
        ("bias of layer 0", "learning rate", "weight of layer 2"),
        mistakes={
            "bias of layer 0": "A bias is learned: gradient descent changes it at every update, "
            "so it is a parameter (the chapter's table counts it among them).",
            "weight of layer 2": "A weight is what training learns: every update moves it, so it "
            "is a parameter, like the biases.",
        },
    ),
    hint=[
        "Gradient descent changes parameters; you choose hyperparameters before training starts.",
        "Of the three, which one did the chapter pass to `train(...)` and find unchanged in "
        "`history.config` afterwards?",
    ],
    solution="The learning rate: you set it, training never changes it. Biases and weights are learned.",
)

Q4_FAN_IN = 100
q4 = Exercise(
    "q4",
    "PyTorch's default reset_parameters() draws a Linear layer's weights from U(-b, b). What is "
    f"b for fan-in {Q4_FAN_IN}?",
    expect_close(
        1 / math.sqrt(Q4_FAN_IN),
        rtol=0.01,
        mistakes={
            math.sqrt(6 / Q4_FAN_IN): "That is He's bound √(6/fan_in), what kaiming_uniform_ "
            "draws for ReLU; PyTorch's default is narrower.",
            1 / math.sqrt(3 * Q4_FAN_IN): "That is the default's standard deviation, "
            "1/√(3·fan_in): the bound of U(-b, b) is √3 times its standard deviation.",
            1 / Q4_FAN_IN: "The square root is missing: the bound shrinks like 1/√fan_in, "
            "not 1/fan_in.",
            math.sqrt(2 / Q4_FAN_IN): "That is He's standard deviation √(2/fan_in), not the "
            "bound of PyTorch's default.",
        },
    ),
    hint=[
        "The chapter prints the promised range of a freshly reset nn.Linear: it depends on "
        "fan_in only.",
        "The bound is 1 / √fan_in (kaiming_uniform_ with a = √5).",
    ],
    solution=f"b = 1 / √{Q4_FAN_IN} = {1 / math.sqrt(Q4_FAN_IN):g}.",
)

# --- q5: He-normal for a whole network --------------------------------------------------------


def _he_normal_reference(model):
    initialise(model, "kaiming_normal")


def _model_cases():
    with torch.random.fork_rng(
        devices=[]
    ):  # building the layers draws: keep the caller's generator
        small = initialise(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)), seed=3)
    return [dict(model=tutorial_mlp(seed=1)), dict(model=tutorial_mlp(hidden=16, seed=2)),
            dict(model=small)]  # fmt: skip


def _model_state(returned, args):
    return {k: v.detach().clone() for k, v in args["model"].state_dict().items()}


def _compare_models(got, want, case):
    message = first_difference(got, want, bitwise=False, name="the model", **TOLERANCE)
    return f"after your function, {message}" if message else None


def _linear_layers(model):
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def _biases_kept(model):
    for layer in _linear_layers(model):
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")


def _first_layer_only(model):
    nn.init.kaiming_normal_(model[0].weight, nonlinearity="relu")
    nn.init.zeros_(model[0].bias)


def _fan_out_mode(model):
    for layer in _linear_layers(model):
        nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(layer.bias)


def _uniform_not_normal(model):
    for layer in _linear_layers(model):
        nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
        nn.init.zeros_(layer.bias)


def _default_init(model):
    for layer in _linear_layers(model):
        layer.reset_parameters()


q5 = CodeExercise(
    "q5",
    "Write `he_normal_init(model)`: re-initialise every nn.Linear of `model` in place, the "
    "weights with nn.init.kaiming_normal_ for ReLU and the biases with zeros. The check runs it "
    "on three small networks and compares every parameter, within 1e-6, with the course's "
    "`initialise(model, 'kaiming_normal')` from the same seed.",
    reference=_he_normal_reference,
    cases=_model_cases,
    outcome=_model_state,
    compare=_compare_models,
    mistakes=(
        Mistake(
            _biases_kept,
            "Your weights are right, but the biases still hold the values reset_parameters() "
            "gave them: He initialisation here sets every bias to zero.",
            hint="`nn.init.zeros_(layer.bias)` after the weight.",
        ),
        Mistake(
            _first_layer_only,
            "Only the first layer was re-initialised: every nn.Linear of the network needs it.",
            hint="Loop over the layers, `for layer in model.modules():`, and keep those that "
            "are `isinstance(layer, nn.Linear)`.",
        ),
        Mistake(
            _fan_out_mode,
            "You scaled by the layer's outputs (mode='fan_out'): He's variance 2/fan_in counts "
            "the inputs of each layer, which is kaiming_normal_'s default mode='fan_in'.",
            hint="Leave mode at its default, 'fan_in': "
            "`nn.init.kaiming_normal_(layer.weight, nonlinearity='relu')`.",
        ),
        Mistake(
            _uniform_not_normal,
            "Your weights have the right spread but come from kaiming_uniform_: the question "
            "asks for the normal distribution N(0, 2/fan_in), kaiming_normal_.",
            hint="`nn.init.kaiming_normal_(layer.weight, nonlinearity='relu')`.",
        ),
        Mistake(
            _default_init,
            "That is PyTorch's default initialisation (reset_parameters(): U(±1/√fan_in) for "
            "weights and biases), about 2.4 times narrower than He's.",
            hint="For each nn.Linear: `nn.init.kaiming_normal_` for the weight, `nn.init.zeros_` for the bias.",
        ),
    ),  # fmt: skip
    hint=[
        "Visit every layer of the network and act on the nn.Linear ones only: re-draw the "
        "weight, zero the bias.",
        "`model.modules()` lists the layers and `isinstance(layer, nn.Linear)` picks them; "
        "nn.init has a function for He-normal weights (tell it the nonlinearity is ReLU) and "
        "one that fills a tensor with zeros.",
    ],
    solution="""from torch import nn


def he_normal_init(model):
    for layer in model.modules():
        if isinstance(layer, nn.Linear):  # ReLU layers have no parameters
            # std √(2/fan_in)
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
""",
)
