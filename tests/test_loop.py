"""The loop itself: the student's five lines, bit for bit, and its hook points in their order."""

from __future__ import annotations

import inspect
import time

import torch
import torch.nn.functional as F

from gdlessons.history import Recorder
from gdlessons.loop import Clock, Hook, Loop, run_loop
from gdlessons.models import LinearModel


def _batches(epoch: int):
    g = torch.Generator().manual_seed(epoch)
    X = torch.randn(12, 1, generator=g)
    return [(X[i : i + 4], 2 * X[i : i + 4] - 1) for i in range(0, 12, 4)]


def _loop(model, lr=0.1):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    return Loop(model, opt, F.mse_loss, Recorder({}))


def test_the_loop_is_the_students_loop_bit_for_bit():
    hand, looped = LinearModel(w=0.5, b=0.0), LinearModel(w=0.5, b=0.0)
    opt = torch.optim.SGD(hand.parameters(), lr=0.1)
    losses = []
    for epoch in (1, 2):
        for xb, yb in _batches(epoch):
            loss = F.mse_loss(hand(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
    loop = _loop(looped)
    run_loop(loop, _batches, epochs=2)
    assert loop.recorder.history.iterations.loss == losses
    assert all(torch.equal(a, b) for a, b in zip(hand.parameters(), looped.parameters()))


def test_the_loop_is_short_enough_to_read_beside_the_students():
    code = [ln for ln in inspect.getsource(run_loop).splitlines() if ln.strip()]
    assert len(code) <= 45, len(code)


class Calls(Hook):
    def __init__(self, log, stop_at=None):
        self.log, self.stop_at = log, stop_at

    def after_backward(self, loop):
        self.log.append(("backward", loop.recorder.iteration + 1, loop.model.w.grad is not None))

    def after_step(self, loop):
        self.log.append(("step", loop.recorder.iteration + 1, loop.model.w.grad is None))

    def after_iteration(self, loop):
        self.log.append(("iteration", loop.record["iteration"]))
        return loop.record["iteration"] == self.stop_at

    def after_epoch(self, loop):
        self.log.append(("epoch", loop.epoch))


def test_hooks_act_at_their_points_in_order():
    log = []
    run_loop(_loop(LinearModel()), _batches, epochs=1, hooks=[Calls(log)])
    assert log == [
        ("backward", 1, True), ("step", 1, True), ("iteration", 1),
        ("backward", 2, True), ("step", 2, True), ("iteration", 2),
        ("backward", 3, True), ("step", 3, True), ("iteration", 3),
        ("epoch", 1),
    ]  # fmt: skip


def test_a_hook_stops_training_after_every_hook_has_seen_the_iteration():
    first, second = [], []
    loop = _loop(LinearModel())
    run_loop(loop, _batches, epochs=3, hooks=[Calls(first, stop_at=2), Calls(second)])
    assert loop.recorder.history.stopped_at == 2 and loop.recorder.iteration == 2
    assert first[-1] == second[-1] == ("iteration", 2)


def test_a_non_finite_loss_stops_before_any_update():
    model = LinearModel(w=1.0, b=0.0)
    loop = _loop(model)
    run_loop(loop, lambda epoch: [(torch.ones(2, 1), torch.full((2, 1), float("nan")))], epochs=2)
    assert loop.recorder.history.diverged_at == 1 and loop.recorder.iteration == 0
    assert model.w.item() == 1.0 and model.w.grad is None


def test_the_clock_leaves_out_what_it_is_paused_for():
    clock = Clock()
    clock.start()
    with clock.paused():
        time.sleep(0.05)
    clock.stop()
    assert 0 <= clock.read() < 0.05 and clock.read() == clock.seconds
