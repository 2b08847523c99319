"""Chapter 09 exercises: the story's t1 (a worker's shard), t2 (an iteration's global batch) and
t3 (the all-reduce) and the end's q4 (uneven micro-batches) accept correct answers written
differently, one of them with the library piece, and name other wrong answers; their references
are the chapter's. q2's answer is DistributedSampler's padding; the texts say "iteration"; the
checks leave the notebook's objects alone. The rules every exercise keeps are tested in
test_rules.py."""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path

import torch
from torch.utils.data import DataLoader, DistributedSampler

from gdlessons.chapters.ch09_data_parallel import (
    _global_batch,
    global_batches,
    padding_report,
    shard_indices,
)
from gdlessons.exercises import ch09_data_parallel as ex
from gdlessons.exercises import questions_in
from tests.exercises import shared

# The right answer and a typical wrong one of each number or word question (test_rules.py).
RIGHT_AND_WRONG = {"q1": (128, 32), "q2": (3, 5), "q3": ("mean", "sum")}

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "09_data_parallel.ipynb"


def test_q2_matches_distributed_sampler():
    shards = shard_indices(1797, 8, 0)
    assert ex.q2.check(sum(map(len, shards)) - 1797).correct


def test_q2_is_not_a_case_the_notebook_prints():
    """The chapter's padding table shows N = 1000 and 1001 on 2 to 4 workers: q2's answer must be
    worked out, not copied."""
    assert padding_report(1797, 8)["duplicated"] == 3
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    printed = [
        "".join(o.get("text", "") or o.get("data", {}).get("text/plain", ""))
        for c in cells
        if c["cell_type"] == "code"
        for o in c["outputs"]
    ]
    assert not [text for text in printed if "1797" in text]  # the prompt writes 1,797


# --- feedback that teaches -------------------------------------------------------------------


def test_q3_sum_says_all_reduce_sums_then_divides_by_w():
    """The chapter's own text says all-reduce sums and divides by W: "sum" is half of it."""
    for word in ("sum", " Sum", "summed"):
        message = ex.q3.check(word).message
        assert "sums the W gradients" in message and "divides that sum by W" in message
    assert ex.q3.check("Average").correct and ex.q3.check("MEAN").correct


def test_q3_asks_what_every_worker_ends_up_with_not_what_the_collective_gives():
    """The all-reduce collective is a sum (DDP divides by W around it), so asking what the
    all-reduce "gives" makes "sum" a fair answer: the prompt asks for the gradient every worker
    ends up with, and names the three choices the checker knows."""
    prompt = ex.q3.prompt
    assert "end up with after DDP's all-reduce" in prompt and "give every worker" not in prompt
    for choice in ("'sum'", "'mean'", "'worker 0'"):
        assert choice in prompt
    assert not ex.q3.check("sum").correct and ex.q3.check("mean").correct


def test_q1_and_q2_name_per_worker_counts_and_remainders():
    assert "one worker's batch" in ex.q1.check(32).message
    assert "remainder N mod W" in ex.q2.check(1797 % 8).message
    assert "each worker gets" in ex.q2.check(math.ceil(1797 / 8)).message


def test_texts_say_iteration_and_update_not_step():
    """The course's word for one optimizer update is "iteration"; "step" is only `.step()`."""
    for q in questions_in(ex):
        mistakes = [t for m in getattr(q, "mistakes", ()) for t in (m.message, m.hint or "")]
        catalogue = getattr(getattr(q, "checker", None), "mistakes", {})
        for text in (q.prompt, *q.hints, q._solution, *mistakes, *catalogue.values()):
            assert not re.search(r"\bsteps?\b(?!\()|Chapter 0[^9]", text), (q.name, text)


# --- the checks leave the notebook alone ---------------------------------------------------------


def test_checks_leave_the_notebooks_objects_generators_and_grad_mode_alone():
    solution = shared.solution_of(ex.t3, "averaged_gradients")
    model = torch.nn.Linear(1, 1)  # a student's own model and data, in the notebook
    before = copy.deepcopy(model.state_dict())
    X, y = torch.randn(8, 1), torch.randn(8, 1)
    data = X.clone(), y.clone()
    torch.manual_seed(123)
    rng = torch.get_rng_state()

    def vandal(model, loss_fn, micro_batches):
        for xb, yb in micro_batches:  # in-place changes to the case must stay private to this call
            xb.mul_(2)
            yb.zero_()
        with torch.no_grad():
            for p in model.parameters():
                p.zero_()
        torch.rand(3)
        return solution(model, loss_fn, micro_batches)

    assert ex.t3.check(vandal).status == "incorrect"
    assert torch.equal(rng, torch.get_rng_state())
    with torch.no_grad():  # a check run where autograd is off still computes gradients
        assert ex.t3.check(solution).correct  # and its cases are fresh again
        assert not torch.is_grad_enabled()
    assert torch.equal(rng, torch.get_rng_state())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert torch.equal(data[0], X) and torch.equal(data[1], y)


# --- t1: a worker's shard -----------------------------------------------------------------------


def test_t1_reference_is_the_chapters_shard_indices():
    for n, world_size, epoch, seed in ((1000, 3, 0, 0), (49, 3, 1, 2), (48, 2, 3, 5)):
        shards = shard_indices(n, world_size, epoch, seed=seed)
        for rank, shard in enumerate(shards):
            assert ex._sampler_shard(n, world_size, rank, epoch, seed, True, False) == shard


def test_t1_cases_cover_padding_trimming_shuffling_epochs_and_ranks():
    cases = ex._shard_cases()
    assert {c["n"] % c["world_size"] == 0 for c in cases} == {False, True}
    for key in ("shuffle", "drop_last"):
        assert {c[key] for c in cases} == {False, True}
    assert len({c["epoch"] for c in cases}) >= 3
    assert any(c["rank"] == c["world_size"] - 1 for c in cases)


def test_t1_every_case_is_checked_bitwise_and_rank_by_rank():
    for case in ex._shard_cases():
        want = ex._sampler_shard(**case)
        assert ex._shard(**case) == want
        assert all(type(i) is int for i in want)


def test_t1_other_wrong_answers_get_the_first_difference():
    def off_by_one(n, world_size, rank, epoch, seed, shuffle, drop_last):
        shard = ex._sampler_shard(n, world_size, rank, epoch, seed, shuffle, drop_last)
        return shard[:1] + [i + 1 for i in shard[1:]]

    message = ex.t1.check(off_by_one).message
    assert message.startswith(
        "With n=10, world_size=3, rank=1, epoch=0, seed=0, shuffle=False, drop_last=False: "
        "position 1 of worker 1's shard is 5, expected 4."
    ), message

    def floats(n, world_size, rank, epoch, seed, shuffle, drop_last):
        return [float(i) for i in ex._sampler_shard(n, world_size, rank, epoch, seed, shuffle, drop_last)]  # fmt: skip

    assert "worker 1's shard holds 1.0, a float: sample indices are whole numbers" in (
        ex.t1.check(floats).message
    )

    def a_count(n, world_size, rank, epoch, seed, shuffle, drop_last):
        return math.ceil(n / world_size)

    assert "return the list of sample indices" in ex.t1.check(a_count).message


def test_t1_asks_for_a_list_the_story_can_print_and_join():
    """The story prints a shard's first indices and joins two shards with +: a tensor would print
    as a tensor and add up element by element, so the check asks for `.tolist()`."""

    def as_tensor(n, world_size, rank, epoch, seed, shuffle, drop_last):
        return torch.tensor(ex._sampler_shard(n, world_size, rank, epoch, seed, shuffle, drop_last))

    result = ex.t1.check(as_tensor)
    assert result.status == "incorrect" and "`.tolist()`" in result.message, result.message


def test_t1_accepts_the_global_generator_and_restores_it():
    def global_seed(n, world_size, rank, epoch, seed, shuffle, drop_last):
        torch.manual_seed(seed + epoch)  # the global generator: the check restores it afterwards
        order = torch.randperm(n).tolist() if shuffle else list(range(n))
        total = (n // world_size if drop_last else -(-n // world_size)) * world_size
        return (order * 2)[:total][rank::world_size]

    torch.manual_seed(9)
    rng = torch.get_rng_state()
    assert ex.t1.check(global_seed).correct
    assert torch.equal(rng, torch.get_rng_state())


def test_t1_accepts_a_padding_loop_and_a_modular_index():
    def padding_loop(n, world_size, rank, epoch, seed, shuffle, drop_last):
        if shuffle:
            g = torch.Generator()
            g.manual_seed(seed + epoch)
            order = torch.randperm(n, generator=g).tolist()
        else:
            order = list(range(n))
        if drop_last:
            order = order[: n - n % world_size]
        else:
            total = math.ceil(n / world_size) * world_size
            while len(order) < total:
                order += order[: total - len(order)]
        shard = []
        for position in range(rank, len(order), world_size):
            shard.append(order[position])
        return shard

    def modular_index(n, world_size, rank, epoch, seed, shuffle, drop_last):
        g = torch.Generator().manual_seed(seed + epoch)
        order = torch.randperm(n, generator=g) if shuffle else torch.arange(n)
        per_worker = n // world_size if drop_last else -(-n // world_size)
        positions = torch.arange(per_worker) * world_size + rank
        return order[positions % n].tolist()  # past the end: wrap round to the first indices

    for answer in (padding_loop, modular_index):
        result = ex.t1.check(answer)
        assert result.correct, (answer.__name__, result.message)


def test_t1_accepts_a_dataloader_over_distributed_sampler():
    def through_a_dataloader(n, world_size, rank, epoch, seed, shuffle, drop_last):
        sampler = DistributedSampler(
            list(range(n)),
            num_replicas=world_size,
            rank=rank,
            shuffle=shuffle,
            seed=seed,
            drop_last=drop_last,
        )
        sampler.set_epoch(epoch)
        loader = DataLoader(list(range(n)), sampler=sampler, batch_size=None)
        return [int(i) for i in loader]

    result = ex.t1.check(through_a_dataloader)
    assert result.correct, result.message


# --- t2: one iteration's global batch ---------------------------------------------------------


def test_t2_reference_is_the_chapters_global_batch():
    """The story's references train on the chapter's global batches: t2's reference makes them,
    and cut into pieces of b they give back each worker's micro-batch."""
    for case in ex._global_batch_cases():
        assert ex._global_batch(**case) == _global_batch(**case)
    shards = shard_indices(50, 3, 0)
    batches = global_batches(50, 3, 4, 0, make=ex._global_batch)
    assert len(batches) == 5 and [len(b) for b in batches] == [12] * 4 + [3]
    for j, batch in enumerate(batches):
        pieces = [p.tolist() for p in batch.split(4 if j < 4 else 1)]  # 17 = 4·4 + 1
        assert pieces == [shard[4 * j : 4 * j + 4] for shard in shards]


def test_t2_cases_include_a_short_last_iteration_and_one_worker():
    cases = ex._global_batch_cases()
    assert {len(c["shards"]) for c in cases} == {1, 2, 3, 4}
    short = [c for c in cases if (c["iteration"] + 1) * c["batch_size"] > len(c["shards"][0])]
    assert short and all(c["iteration"] > 0 for c in cases)


def test_t2_accepts_a_tensor_slice_and_a_dataloader_per_shard():
    def tensor_slice(shards, iteration, batch_size):
        start = iteration * batch_size
        return torch.tensor(shards)[:, start : start + batch_size].flatten().tolist()

    def dataloader_per_shard(shards, iteration, batch_size):
        batch = []
        for (
            shard
        ) in shards:  # micro-batch number j is the j-th batch a DataLoader over the shard gives
            micro_batch = list(DataLoader(shard, batch_size=batch_size))[iteration]
            batch.extend(micro_batch.tolist())
        return batch

    for answer in (tensor_slice, dataloader_per_shard):
        result = ex.t2.check(answer)
        assert result.correct, (answer.__name__, result.message)


def test_t2_other_wrong_answers_get_the_first_difference():
    def reversed_ranks(shards, iteration, batch_size):
        return ex._global_batch(shards[::-1], iteration, batch_size)

    message = ex.t2.check(reversed_ranks).message
    assert message.startswith(
        "With iteration=1, batch_size=2: position 0 of the global batch of W = 2 workers is 9, "
        "expected 3."
    ), message

    def a_tensor(shards, iteration, batch_size):
        return torch.tensor(ex._global_batch(shards, iteration, batch_size))

    assert "`.tolist()`" in ex.t2.check(a_tensor).message


# --- t3: the all-reduce, simulated ------------------------------------------------------------


def test_t3_cases_are_the_chapters_first_micro_batches_and_one_uneven_split():
    cases = ex._allreduce_cases()
    for case in cases[:-1]:
        sizes = {len(xb) for xb, _ in case["micro_batches"]}
        assert len(sizes) == 1 and len(case["micro_batches"]) > 1
    assert [len(xb) for xb, _ in cases[-1]["micro_batches"]] == list(ex.UNEVEN)
    assert all(p.grad is None for case in cases for p in case["model"].parameters())


def test_t3_reference_is_the_big_batch_on_equal_micro_batches_only():
    for case in ex._allreduce_cases():
        average = ex._averaged_gradients(**copy.deepcopy(case))
        whole = ex._whole_batch_gradient(**copy.deepcopy(case))
        equal = all(torch.allclose(average[k], whole[k], atol=1e-6) for k in average)
        assert equal == (len({len(xb) for xb, _ in case["micro_batches"]}) == 1)


def test_t3_refuses_the_one_big_batch_shortcut_and_says_why():
    def one_big_batch(model, loss_fn, micro_batches):
        X = torch.cat([X for X, _ in micro_batches])
        y = torch.cat([y for _, y in micro_batches])
        loss_fn(model(X), y).backward()
        return {name: p.grad for name, p in model.named_parameters()}

    result = ex.t3.check(one_big_batch)
    assert result.status == "incorrect"
    assert result.message.startswith("You computed one backward() over all the micro-batches")
    assert "4, 3 and 3 samples" in result.message


def test_t3_a_model_copy_per_worker_is_correct_and_a_list_is_asked_to_be_a_dict():
    def one_copy_per_worker(model, loss_fn, micro_batches):
        total = None
        for X, y in micro_batches:
            worker = copy.deepcopy(model)
            loss_fn(worker(X), y).backward()
            grads = {name: p.grad for name, p in worker.named_parameters()}
            total = grads if total is None else {k: total[k] + g for k, g in grads.items()}
        return {name: t / len(micro_batches) for name, t in total.items()}

    assert ex.t3.check(one_copy_per_worker).correct

    def as_a_list(model, loss_fn, micro_batches):
        return list(one_copy_per_worker(model, loss_fn, micro_batches).values())

    message = ex.t3.check(as_a_list).message  # the story looks the gradients up by name
    assert "you returned a list of gradients: return a dict {name: tensor}" in message, message


def test_t3_other_wrong_answers_are_named():
    def nothing_computed(model, loss_fn, micro_batches):
        return {name: p.grad for name, p in model.named_parameters()}

    assert "your gradients are all None: call backward()" in ex.t3.check(nothing_computed).message

    def a_loss(model, loss_fn, micro_batches):
        return sum(loss_fn(model(X), y) for X, y in micro_batches) / len(micro_batches)

    assert "return the averaged gradient of every parameter" in ex.t3.check(a_loss).message

    def slightly_off(model, loss_fn, micro_batches):
        grads = ex._averaged_gradients(model, loss_fn, micro_batches)
        return {name: g * 1.01 for name, g in grads.items()}

    message = ex.t3.check(slightly_off).message
    assert re.match(
        r"In case 1 of 4: with W = 2 workers of 32 samples, `0\.weight` differs by \S+ \(largest "
        r"\|difference\|; \d+ of 32 values differ\) from the gradient of the whole batch of 64\.",
        message,
    ), message

    def uneven_only_off(model, loss_fn, micro_batches):
        grads = ex._averaged_gradients(model, loss_fn, micro_batches)
        off = 1.01 if len({len(X) for X, _ in micro_batches}) > 1 else 1.0
        return {name: g * off for name, g in grads.items()}

    message = ex.t3.check(uneven_only_off).message
    assert message.startswith("In case 4 of 4: with W = 3 workers of 4, 3, 3 samples, ") and (
        "from the average of the workers' gradients" in message
    ), message


def test_t3_accepts_autograd_grad_and_losses_divided_by_w():
    def with_autograd_grad(model, loss_fn, micro_batches):
        names, params = zip(*model.named_parameters())
        total = [torch.zeros_like(p) for p in params]
        for X, y in micro_batches:
            grads = torch.autograd.grad(loss_fn(model(X), y), params)
            total = [t + g for t, g in zip(total, grads)]
        return {name: t / len(micro_batches) for name, t in zip(names, total)}

    def accumulated_over_w(model, loss_fn, micro_batches):
        model.zero_grad()
        for X, y in micro_batches:  # backward() adds up the W gradients, each already divided by W
            (loss_fn(model(X), y) / len(micro_batches)).backward()
        return {name: p.grad.clone() for name, p in model.named_parameters()}

    def mean_of_the_workers_losses(model, loss_fn, micro_batches):
        model.zero_grad()
        losses = torch.stack([loss_fn(model(X), y) for X, y in micro_batches])
        losses.mean().backward()
        return dict((name, p.grad) for name, p in model.named_parameters())

    for answer in (with_autograd_grad, accumulated_over_w, mean_of_the_workers_losses):
        result = ex.t3.check(answer)
        assert result.correct, (answer.__name__, result.message)


# --- q4: the global batch's gradient from uneven micro-batches ---------------------------------


def test_q4_reference_is_one_backward_over_the_global_batch():
    """Weighing each worker's gradient by its size gives what one backward() over all their
    samples gives: the global batch's gradient, also when the sizes differ."""
    for seed, sizes in enumerate(ex.GLOBAL_SIZES, start=3):
        model = ex.tutorial_mlp(seed=seed)
        micro_batches = ex._uneven_micro_batches(sizes, seed)
        grads = ex._worker_gradients(model, ex.mse_loss, micro_batches)
        whole = ex._whole_batch_gradient(model, ex.mse_loss, micro_batches)
        combined = ex._global_gradient(grads, list(sizes))
        assert all(torch.allclose(combined[k], whole[k], atol=1e-6) for k in whole)


def test_q4_cases_hold_uneven_sizes_and_one_even_case():
    sizes = [tuple(c["sizes"]) for c in ex._global_gradient_cases()]
    assert sum(len(set(s)) == 1 for s in sizes) == 1 and len(sizes) >= 3


def test_q4_accepts_stacked_weights_and_sums_rebuilt_from_means():
    def stacked(grads, sizes):
        weights = torch.tensor(sizes, dtype=torch.float32) / sum(sizes)
        return {
            name: torch.tensordot(weights, torch.stack([g[name] for g in grads]), dims=1)
            for name in grads[0]
        }

    def sums_rebuilt(grads, sizes):
        sums = {}  # a mean over s samples times s is their sum
        for g, s in zip(grads, sizes):
            for name, value in g.items():
                sums[name] = sums.get(name, 0) + value * s
        return {name: total / sum(sizes) for name, total in sums.items()}

    for answer in (stacked, sums_rebuilt):
        result = ex.q4.check(answer)
        assert result.correct, (answer.__name__, result.message)


def test_q4_names_the_case_where_an_answer_differs():
    def slightly_off(grads, sizes):
        return {k: v * 1.01 for k, v in ex._global_gradient(grads, sizes).items()}

    message = ex.q4.check(slightly_off).message
    assert message.startswith(
        "In case 1 of 4: with micro-batches of 4, 3, 3 samples, `0.weight` differs by"
    ), message
    assert "a dict {name: tensor}" in ex.q4.check(lambda grads, sizes: 0.5).message
