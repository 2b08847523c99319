"""Chapter 02 exercises: the answers follow the counting rules; what the questions accept besides
the expected answer; what t1, t2, t3 and q7 say about other wrong answers, and that their
references are what the package iterates. The rules every exercise keeps are tested in
test_rules.py."""

import pytest
import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler

from gdlessons.batching import BatchIterator, iterations_per_epoch
from gdlessons.exercises import ch02_epochs_batches_iterations as ex

# The right answer and a typical wrong one of each number or word question (test_rules.py).
RIGHT_AND_WRONG = {
    "q1": (29, 28),
    "q2": (28, 29),
    "q3": (5, 64),
    "q4": (0.606, 0.368),
    "q5": (30, 600),
    "q6": ("B=32", "same"),
}


def test_answers_follow_the_counting_rules():
    assert ex.q1.check(iterations_per_epoch(1797, 64)).correct
    assert ex.q2.check(iterations_per_epoch(1797, 64, drop_last=True)).correct
    assert ex.q3.check(1797 - 28 * 64).correct
    assert ex.q4.check((1 - 1 / ex.TRAIN_N) ** (ex.DRAW_BATCHES * ex.DRAW_B)).correct
    seen = ex.TRAP_EPOCHS * ex.TRAP_B
    assert ex.q5.check(seen / ex.TRAP_N).correct


def test_q4_matches_a_measured_epoch_drawn_with_replacement():
    batches = BatchIterator(torch.arange(ex.TRAIN_N), batch_size=ex.DRAW_B, replacement=True,
                            batches_per_epoch=ex.DRAW_BATCHES, seed=0)  # fmt: skip
    unused = [1 - len(torch.cat(batches.epoch_indices()).unique()) / ex.TRAIN_N for _ in range(20)]
    assert ex.q4.check(sum(unused) / len(unused)).correct


def test_answers_are_not_the_numbers_the_chapter_prints():
    """The chapter prints 1/e ≈ 0.368 (N draws from N) and the trap's 128 real epochs."""
    assert "1/e" in ex.q4.check(0.368).message
    assert ex.q5.check(128).status == "incorrect"
    assert (ex.TRAP_EPOCHS, ex.TRAP_B, ex.TRAP_N) != (1000, 128, 1000)


def test_close_answers_to_the_fraction_are_accepted_and_far_ones_are_not():
    assert ex.q4.check(0.6).correct and ex.q4.check(60.6).status == "incorrect"
    assert ex.q4.check(0.5).status == "incorrect"


def test_the_mistakes_are_named():
    assert "drop_last=True" in ex.q1.check(28).message
    assert "keeps the short last batch" in ex.q2.check(29).message
    assert "turns of the loop" in ex.q5.check(ex.TRAP_EPOCHS).message
    assert "samples seen" in ex.q5.check(ex.TRAP_EPOCHS * ex.TRAP_B).message
    assert "batches as draws" in ex.q4.check((1 - 1 / ex.TRAIN_N) ** ex.DRAW_BATCHES).message


def test_choice_ignores_case_and_spaces():
    assert ex.q6.check("  b=32 ").correct


def test_an_answer_of_the_wrong_shape_is_feedback_not_a_crash():
    assert ex.q1.check("many").status == "incorrect"
    assert ex.q4.check("a third").status == "incorrect"


# --- t1 ---------------------------------------------------------------------------------------


def test_t1_reference_is_what_train_iterates():
    for case in ex._size_cases():
        sizes = ex._batch_sizes(**case)
        assert len(sizes) == iterations_per_epoch(case["n"], case["batch_size"], case["drop_last"])
        assert sum(sizes) <= case["n"]
    assert ex._batch_sizes(20, 6, False) == [6, 6, 6, 2]
    assert ex._batch_sizes(20, 6, True) == [6, 6, 6]


def test_t1_accepts_a_tensor_and_names_other_differences():
    def as_tensor(n, batch_size, drop_last):
        return torch.tensor(ex._batch_sizes(n, batch_size, drop_last))

    assert ex.t1.check(as_tensor).correct
    count = ex.t1.check(lambda n, batch_size, drop_last: n // batch_size)
    assert "With n=1000, batch_size=64, drop_last=False: return the list of batch sizes" in (
        count.message
    )
    one_more = ex.t1.check(lambda n, batch_size, drop_last: [batch_size] * (n // batch_size + 1))
    assert "batch 16 of the epoch has 64 samples, expected 40" in one_more.message

    def too_many(n, batch_size, drop_last):
        return ex._batch_sizes(n, batch_size, drop_last) + [1]

    assert "your epoch has 17 batches, expected 16" in ex.t1.check(too_many).message


# --- q7 ---------------------------------------------------------------------------------------


def test_q7_cases_show_the_chapter_s_three_kinds_of_epoch():
    fractions = [ex._unused_fraction(**case) for case in ex._batch_cases()]
    assert abs(fractions[0] - (1 - 1 / 1000) ** 1000) < 0.05  # about 1/e
    assert fractions[2] == 0.0 and fractions[3] == 2 / 20


def test_q7_reference_counts_what_batch_iterator_used():
    batches = BatchIterator(torch.arange(50), batch_size=10, replacement=True, seed=3)
    indices = batches.epoch_indices()
    used = len(set(torch.cat(indices).tolist()))
    assert ex._unused_fraction(50, indices) == (50 - used) / 50


def test_q7_other_wrong_answers_get_the_first_difference():
    shape = ex.q7.check(lambda n, batches: "about a third")
    assert "return the fraction as one number; you returned 'about a third'" in shape.message
    off = ex.q7.check(lambda n, batches: 0.3)
    assert "With n=1000: for 25 batches (1000 draws), your fraction is 0.3, expected" in (
        off.message
    )


def test_q7_check_leaves_the_generators_alone():
    torch.manual_seed(5)
    before = torch.get_rng_state()
    ex.q7.check(ex._unused_fraction)
    assert torch.equal(before, torch.get_rng_state())


# --- other correct answers --------------------------------------------------------------------


def _t1_while(n, batch_size, drop_last):
    """Take batches off what is left until too few remain."""
    sizes, left = [], n
    while left >= batch_size:
        sizes.append(batch_size)
        left -= batch_size
    if left > 0 and not drop_last:
        sizes.append(left)
    return sizes


def _t1_min(n, batch_size, drop_last):
    """One comprehension over the batch starts; drop_last filters the short one out."""
    sizes = [min(batch_size, n - start) for start in range(0, n, batch_size)]
    return [s for s in sizes if s == batch_size] if drop_last else sizes


def _t1_dataloader(n, batch_size, drop_last):
    """What a DataLoader over n samples hands out."""
    loader = DataLoader(range(n), batch_size=batch_size, drop_last=drop_last)
    return [len(xb) for xb in loader]


def _t1_split(n, batch_size, drop_last):
    """torch.split cuts the indices into chunks, the last one short."""
    chunks = torch.arange(n).split(batch_size)
    return [len(c) for c in chunks if not (drop_last and len(c) < batch_size)]


def test_t1_other_correct_answers_pass():
    for fn in (_t1_while, _t1_min, _t1_dataloader, _t1_split):
        result = ex.t1.check(fn)
        assert result.correct, result.message


def _q7_set(n, batches):
    """A Python set of the indices drawn."""
    used = set()
    for idx in batches:
        used.update(idx.tolist())
    return len(set(range(n)) - used) / n


def _q7_bincount(n, batches):
    """How often each sample was drawn: the unused ones were drawn 0 times."""
    counts = torch.bincount(torch.cat(batches), minlength=n)
    return (counts == 0).sum().item() / n


def _q7_isin(n, batches):
    """torch.isin, averaged in float64."""
    used = torch.isin(torch.arange(n), torch.cat(batches))
    return float((~used).double().mean())


def test_q7_other_correct_answers_pass():
    for fn in (_q7_set, _q7_bincount, _q7_isin):
        result = ex.q7.check(fn)
        assert result.correct, result.message


def test_q7_a_float32_mean_passes():
    def float32_mean(n, batches):
        used = torch.zeros(n, dtype=torch.bool)
        used[torch.cat(batches)] = True
        return (~used).float().mean()

    result = ex.q7.check(float32_mean)
    assert result.correct, result.message


# --- t2 and t3: the references are BatchIterator's batches ------------------------------------


def _epochs(batches: BatchIterator, count: int) -> list[list[list[int]]]:
    return [[b.tolist() for b in batches.epoch_indices()] for _ in range(count)]


def _by_function(fn, count: int, **kwargs) -> list[list[list[int]]]:
    generator = torch.Generator().manual_seed(kwargs.pop("seed"))
    return [[b.tolist() for b in fn(generator=generator, **kwargs)] for _ in range(count)]


@pytest.mark.parametrize(
    ("n", "batch_size", "drop_last"),
    [(20, 6, False), (20, 6, True), (12, 4, True), (103, 20, False)],
)
def test_t2_reference_gives_batch_iterator_s_epochs_from_the_same_seed(n, batch_size, drop_last):
    """Called once per epoch on one generator, as the chapter calls it: epoch after epoch."""
    batches = BatchIterator(torch.arange(n), batch_size=batch_size, drop_last=drop_last, seed=7)
    mine = _by_function(
        ex._shuffled_epoch, 3, n=n, batch_size=batch_size, drop_last=drop_last, seed=7
    )
    assert mine == _epochs(batches, 3)


@pytest.mark.parametrize(
    ("n", "batch_size", "batches"), [(20, 6, 4), (1000, 40, 25), (1000, 40, 10)]
)
def test_t3_reference_gives_batch_iterator_s_draws_from_the_same_seed(n, batch_size, batches):
    drawn = BatchIterator(torch.arange(n), batch_size=batch_size, replacement=True,
                          batches_per_epoch=batches, seed=5)  # fmt: skip
    mine = _by_function(
        ex._replacement_epoch, 3, n=n, batch_size=batch_size, batches=batches, seed=5
    )
    assert mine == _epochs(drawn, 3)


def _t2_sampler(n, batch_size, drop_last, generator):
    """torch.utils.data's own pieces: RandomSampler's order in BatchSampler's batches."""
    sampler = BatchSampler(RandomSampler(range(n), generator=generator), batch_size, drop_last)
    return [torch.tensor(batch) for batch in sampler]


def _t2_slices(n, batch_size, drop_last, generator):
    """Slices of the permutation, stopping before a short one with drop_last."""
    order = torch.randperm(n, generator=generator)
    stop = n - n % batch_size if drop_last else n
    return [order[i : i + batch_size] for i in range(0, stop, batch_size)]


def _t2_batch_iterator(n, batch_size, drop_last, generator):
    """The course's BatchIterator, seeded from the generator's own state."""
    batches = BatchIterator(torch.arange(n), batch_size=batch_size, drop_last=drop_last)
    batches.generator = generator
    return batches.epoch_indices()


def test_t2_other_correct_answers_pass():
    for fn in (_t2_sampler, _t2_slices, _t2_batch_iterator):
        result = ex.t2.check(fn)
        assert result.correct, result.message


def _t3_sampler(n, batch_size, batches, generator):
    """RandomSampler(replacement=True) draws its indices by torch.randint, 32 at a time."""
    sampler = RandomSampler(range(n), replacement=True, num_samples=batches * batch_size,
                            generator=generator)  # fmt: skip
    return [torch.tensor(batch) for batch in BatchSampler(sampler, batch_size, drop_last=False)]


def _t3_loop(n, batch_size, batches, generator):
    """One torch.randint per batch: the same numbers as all at once."""
    return [torch.randint(0, n, (batch_size,), generator=generator) for _ in range(batches)]


def _t3_flat(n, batch_size, batches, generator):
    return list(torch.randint(n, (batches * batch_size,), generator=generator).split(batch_size))


def test_t3_other_correct_answers_pass():
    for fn in (_t3_sampler, _t3_loop, _t3_flat):
        result = ex.t3.check(fn)
        assert result.correct, result.message


def test_t2_and_t3_name_the_batch_that_differs():
    def swapped(n, batch_size, drop_last, generator):
        batches = ex._shuffled_epoch(n, batch_size, drop_last, generator)
        batches[1] = batches[1].flip(0)
        return batches

    message = ex.t2.check(swapped).message
    assert (
        "With n=20, batch_size=6, drop_last=False: batch 2 differs from BatchIterator's: its index 1"
        in message
    )
    flat = ex.t2.check(
        lambda n, batch_size, drop_last, generator: torch.randperm(n, generator=generator)
    )
    assert "you returned one tensor of shape (20,)" in flat.message
    lists = ex.t3.check(lambda n, batch_size, batches, generator: [
        b.tolist() for b in ex._replacement_epoch(n, batch_size, batches, generator)])  # fmt: skip
    assert "batch 1 is a list, not a tensor of indices" in lists.message


def test_t3_accepts_its_draws_as_one_tensor_of_rows():
    """A (batches, batch_size) tensor iterates as its rows: the batches."""
    result = ex.t3.check(lambda n, batch_size, batches, generator: torch.randint(
        n, (batches, batch_size), generator=generator))  # fmt: skip
    assert result.correct, result.message
