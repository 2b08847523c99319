"""Chapter 00 exercises: what t1, t2, t3 and q5 accept besides the reference, what they say about
other wrong answers, and that their checks leave the cases and the generators alone. The rules
every exercise keeps are tested in test_rules.py."""

import math

import torch
from torch import nn

from gdlessons.exercises import ch00_welcome as ex
from gdlessons.models import count_parameters, initialise, tutorial_mlp

# The right answer and a typical wrong one of each number or word question (test_rules.py).
RIGHT_AND_WRONG = {
    "q1": (1040, 1024),
    "q2": (math.sqrt(2 / 128), math.sqrt(1 / 128)),
    "q3": ("learning rate", "weight of layer 2"),
    "q4": (0.1, 0.01),
}

# --- q1 to q4 ---------------------------------------------------------------------------------


def test_answers_follow_what_pytorch_does():
    assert ex.q1.check(count_parameters(nn.Linear(ex.Q1_IN, ex.Q1_OUT))).correct
    weight = torch.empty(4000, ex.Q2_FAN_IN)
    nn.init.kaiming_normal_(weight, nonlinearity="relu")
    assert ex.q2.check(float(weight.std())).correct
    layer = nn.Linear(ex.Q4_FAN_IN, 4000)
    assert ex.q4.check(float(layer.weight.detach().abs().max())).correct


def test_answers_are_not_the_numbers_the_chapter_prints():
    """The chapter prints Linear(32, 32)'s 1024 + 32 and fan-in 32's bound 1/√32 = √(2/64)."""
    assert (ex.Q1_IN, ex.Q1_OUT) != (32, 32)
    assert not ex.q2.check(1 / math.sqrt(32)).correct and not ex.q2.check(0.25).correct


def test_the_mistakes_are_named_not_sized():
    assert "weights only" in ex.q1.check(ex.Q1_IN * ex.Q1_OUT).message
    assert "variance" in ex.q2.check(2 / ex.Q2_FAN_IN).message
    assert "standard deviation" in ex.q4.check(1 / math.sqrt(3 * ex.Q4_FAN_IN)).message
    assert "learned" in ex.q3.check("Bias of layer 0").message


# --- t3 ---------------------------------------------------------------------------------------


def test_t3_reference_draws_the_promised_distribution():
    """kaiming_uniform_ (the reference) is U(±√(6/fan_in)): bound and spread as the chapter says."""
    weight = torch.zeros(2000, 50)
    ex._kaiming_uniform(weight)
    bound = math.sqrt(6 / 50)
    assert float(weight.abs().max()) <= bound and float(weight.abs().max()) > 0.99 * bound
    assert math.isclose(float(weight.std()), math.sqrt(2 / 50), rel_tol=0.01)


def test_t3_other_ways_to_draw_the_same_numbers_pass():
    def by_rand(weight):
        bound = math.sqrt(6 / weight.shape[1])
        weight.copy_((torch.rand(weight.shape) * 2 - 1) * bound)

    def by_gain(weight):
        bound = math.sqrt(2) * math.sqrt(3 / weight.size(1))
        with torch.no_grad():
            return weight.uniform_(-bound, bound)

    assert ex.t3.check(by_rand).correct and ex.t3.check(by_gain).correct


def test_t3_other_wrong_answers_get_the_first_difference():
    result = ex.t3.check(lambda weight: weight.uniform_(-1, 1))
    assert (
        "In case 1 of 3: for a weight of shape (32, 64) (fan_in = 64), the weight differs by"
        in (result.message)
    )
    assert "t3.hint()" in result.message


def test_t3_check_leaves_the_generators_alone():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    ex.t3.check(ex._kaiming_uniform)
    ex.t3.check(lambda weight: weight.uniform_(-1, 1))
    assert torch.equal(before, torch.get_rng_state())


# --- q5 ---------------------------------------------------------------------------------------


def test_q5_reference_is_he_normal_with_zero_biases():
    model = initialise(nn.Sequential(nn.Linear(400, 300)), seed=0)
    ex._he_normal_reference(model)
    assert float(model[0].bias.detach().abs().max()) == 0.0
    assert math.isclose(float(model[0].weight.detach().std()), math.sqrt(2 / 400), rel_tol=0.01)


def test_q5_by_hand_with_the_formula_passes_within_the_tolerance():
    def by_formula(model):
        with torch.no_grad():
            for layer in model:
                if isinstance(layer, nn.Linear):
                    layer.weight.normal_(0.0, math.sqrt(2 / layer.in_features))
                    layer.bias.zero_()

    assert ex.q5.check(by_formula).correct


def test_q5_errors_inside_the_students_code_show_their_own_lines():
    def every_parameter(model):
        for p in model.parameters():
            nn.init.kaiming_normal_(p, nonlinearity="relu")

    result = ex.q5.check(every_parameter)
    assert "ValueError" in result.message and "in every_parameter" in result.message
    assert "site-packages" not in result.message and "Hint:" in result.message


def test_q5_other_wrong_answers_get_the_first_difference():
    def doubled(model):
        ex._he_normal_reference(model)
        with torch.no_grad():
            model[-1].weight.mul_(2)

    assert "after your function, `4.weight` differs by" in ex.q5.check(doubled).message


def test_q5_check_leaves_the_cases_and_the_generators_alone():
    torch.manual_seed(7)
    before = torch.get_rng_state()
    case = ex._model_cases()[0]
    weight = case["model"][0].weight.detach().clone()
    ex.q5.check(ex._he_normal_reference)
    assert torch.equal(before, torch.get_rng_state())
    assert torch.equal(case["model"][0].weight, weight)
    assert all(torch.equal(a, b) for a, b in zip(ex._model_cases()[0]["model"].parameters(),
                                                  case["model"].parameters()))  # fmt: skip


# --- other correct answers --------------------------------------------------------------------


def _t3_distribution(weight):
    """torch.distributions.Uniform: the same draws as uniform_, copied into the given tensor."""
    bound = (6 / weight.size(-1)) ** 0.5
    sampler = torch.distributions.Uniform(-bound, bound)
    with torch.no_grad():
        weight.copy_(sampler.sample(weight.shape))


def _t3_rand_like(weight):
    """Scale and shift U(0, 1) draws, written with slice assignment."""
    _, fan_in = weight.shape
    bound = math.sqrt(3) * math.sqrt(2 / fan_in)  # √3 times He's standard deviation
    with torch.no_grad():
        weight[:] = torch.rand_like(weight) * (2 * bound) - bound


def _t3_through_data(weight):
    fan_in = weight.shape[-1]
    weight.data.uniform_(-math.sqrt(6 / fan_in), math.sqrt(6 / fan_in))


def test_t3_other_correct_answers_pass():
    for fn in (_t3_distribution, _t3_rand_like, _t3_through_data):
        result = ex.t3.check(fn)
        assert result.correct, result.message


def _q5_apply(model):
    """model.apply with a per-module function; biases through nn.init.constant_."""

    def init(module):
        if isinstance(module, nn.Linear):
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
            nn.init.constant_(module.bias, 0.0)

    model.apply(init)


def _q5_randn(model):
    """By hand from N(0, 1): std √2 / √fan_in, biases filled with 0 through the layer's state."""
    with torch.no_grad():
        for layer in model.children():
            if type(layer) is nn.Linear:
                std = math.sqrt(2) / math.sqrt(layer.weight.shape[1])
                layer.weight.copy_(torch.randn(layer.weight.shape) * std)
                layer.bias.fill_(0)


def _q5_init_normal(model):
    """nn.init.normal_ with the gain nn.init.calculate_gain gives for ReLU."""
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            gain = nn.init.calculate_gain("relu")
            nn.init.normal_(layer.weight, mean=0.0, std=gain / math.sqrt(layer.in_features))
            nn.init.zeros_(layer.bias)


def test_q5_other_correct_answers_pass():
    for fn in (_q5_apply, _q5_randn, _q5_init_normal):
        result = ex.q5.check(fn)
        assert result.correct, result.message


def _t3_with_the_bound(weight):
    """The chapter's own t2 gives the bound: kaiming_bound(fan_in, 0) = √(6/fan_in)."""
    bound = ex._kaiming_bound(weight.shape[1], 0.0)
    weight.uniform_(-bound, bound)


def test_t3_accepts_the_bound_from_t2():
    result = ex.t3.check(_t3_with_the_bound)
    assert result.correct, result.message


# --- t1 ---------------------------------------------------------------------------------------


def test_t1_reference_is_the_course_s_count_and_the_chapter_s_1153():
    assert ex._count_parameters(tutorial_mlp(seed=0)) == count_parameters(tutorial_mlp()) == 1153
    for case in ex._count_cases():
        assert ex._count_parameters(case["model"]) == count_parameters(case["model"])


def _t1_vector(model):
    """torch's own flattening: every learned number in one vector."""
    learned = [p for p in model.parameters() if p.requires_grad]
    return nn.utils.parameters_to_vector(learned).numel()


def _t1_loop(model):
    """By hand: the product of each shape's dimensions, in a loop over the named parameters."""
    total = 0
    for _name, p in model.named_parameters():
        if p.requires_grad:
            total += math.prod(p.shape)
    return total


def test_t1_other_correct_answers_pass():
    for fn in (_t1_vector, _t1_loop, lambda model: torch.tensor(count_parameters(model))):
        result = ex.t1.check(fn)
        assert result.correct, result.message


def test_t1_other_wrong_answers_name_the_network():
    result = ex.t1.check(lambda model: count_parameters(model) + 1)
    assert "In case 1 of 3: for the tutorial MLP, your count is 1154, expected 1153" in (
        result.message
    )
    shape = ex.t1.check(lambda model: list(model.parameters()))
    assert "return the count as one number" in shape.message


def test_t1_check_leaves_the_generators_alone():
    torch.manual_seed(11)
    before = torch.get_rng_state()
    ex.t1.check(ex._count_parameters)
    assert torch.equal(before, torch.get_rng_state())


# --- t2 ---------------------------------------------------------------------------------------


def test_t2_reference_is_the_bound_kaiming_uniform_draws_within():
    """1/√fan_in for PyTorch's a = √5 (what reset_parameters() promises), √(6/fan_in) for ReLU;
    and nn.init's draws fill that range."""
    assert math.isclose(ex._kaiming_bound(32, math.sqrt(5)), 1 / math.sqrt(32))
    assert math.isclose(ex._kaiming_bound(50, 0.0), math.sqrt(6 / 50))
    weight = torch.empty(2000, 50)
    nn.init.kaiming_uniform_(weight, a=1.0)
    bound = ex._kaiming_bound(50, 1.0)
    assert 0.99 * bound < float(weight.abs().max()) <= bound


def _t2_gain(fan_in, a):
    """nn.init's own gain."""
    return nn.init.calculate_gain("leaky_relu", a) * math.sqrt(3 / fan_in)


def _t2_one_root(fan_in, a):
    return math.sqrt(6 / ((1 + a * a) * fan_in))


def _t2_tensor(fan_in, a):
    return torch.tensor(6.0 / ((1 + a**2) * fan_in)).sqrt()  # float32: within 1e-6


def test_t2_other_correct_answers_pass():
    for fn in (_t2_gain, _t2_one_root, _t2_tensor):
        result = ex.t2.check(fn)
        assert result.correct, result.message


def test_t2_other_wrong_answers_get_the_first_difference():
    result = ex.t2.check(lambda fan_in, a: 2 * _t2_one_root(fan_in, a))
    assert "With fan_in=32, a=2.23606797749979: your bound is 0.353553, expected 0.176777" in (
        result.message
    )
    assert "return the bound as one number" in ex.t2.check(lambda fan_in, a: "b").message
