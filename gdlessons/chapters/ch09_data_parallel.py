"""Data parallelism with PyTorch's own engine: ``torch.distributed`` (gloo) and
``DistributedDataParallel`` on worker processes of this machine.

Each of W workers takes its shard of every batch (a ``DistributedSampler``), computes gradients,
and DDP's all-reduce averages them, so every worker takes the same step: W workers × b samples
is one batch of W·b, and the same as accumulating W micro-batches. This module runs that for
real, computes the two single-process references through :func:`gdlessons.training.train`, and
always cleans up its worker processes, also when one fails.

How the processes are arranged, and why:

- The notebook's kernel starts one **launcher** process. The launcher imports PyTorch once and
  *forks* the W workers from itself: they start in a fraction of a second and share the
  launcher's memory, where W fresh interpreters would each import PyTorch again (~200 MB each).
  Forking is safe there because the launcher is single-threaded (one thread per library), which
  the kernel, full of threads, is not.
- The workers meet through a file in a fresh temporary directory (a ``FileStore``), not a TCP
  port picked in advance: no port can be taken by someone else between choosing and binding it.
- Each worker ends with a barrier, so no worker leaves while another still talks to it, and then
  leaves with ``os._exit``, destroying none of its gloo objects. Gloo's threads outlive
  ``destroy_process_group()`` (the DDP model still holds the group), and destroying the group
  with them, at a function's return or at interpreter shutdown, can hang or abort the worker
  ("terminate called without an active exception"): see :func:`_worker`.
- Any way of failing, from a worker's exception or crash to a timeout, reaches the caller as one
  :class:`WorkersFailed` naming the reason; :func:`run_or_stored` then falls back to results
  stored with the package.
"""

from __future__ import annotations

import faulthandler
import functools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from datetime import timedelta
from numbers import Integral
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from gdlessons._validate import (
    check_bool,
    check_choice,
    check_float,
    check_instance,
    check_int,
    check_mapping,
    check_sequence,
)
from gdlessons.data import quadratic_data
from gdlessons.models import tutorial_mlp
from gdlessons.training import train

if TYPE_CHECKING:
    from matplotlib.figure import Figure

STORED = Path(__file__).parents[1] / "stored" / "data_parallel.json"
MAX_WORKERS = 4  # the course runs on 2 cores and 1 GB; the stored results cover W = 1..4
LAUNCH_SECONDS = 120  # allowed for the launcher to start and import PyTorch, on a busy machine
DEFAULTS = dict(n=1000, batch_size=32, epochs=3, lr=0.01, momentum=0.0, seed=0)


class WorkersFailed(RuntimeError):
    """The worker processes could not be started or did not finish. The message is the reason
    in one line; ``log`` holds what the launcher and workers printed."""

    def __init__(self, reason: str, log: str = ""):
        super().__init__(reason)
        self.log = log


def shard_indices(
    n: int, world_size: int, epoch: int, *, seed: int = 0, shuffle: bool = True
) -> list[list[int]]:
    """Each worker's sample indices for one epoch, exactly as ``DistributedSampler`` gives them
    (shuffled with ``seed + epoch``, padded by repeating the first indices to a multiple of W,
    then dealt out rank by rank).

    >>> shard_indices(5, 2, 0, shuffle=False)
    [[0, 2, 4], [1, 3, 0]]
    """
    n = check_int("n", n, low=1)
    world_size = check_int("world_size", world_size, low=1, high=n)
    epoch = check_int("epoch", epoch, low=0)
    seed = check_int("seed", seed, low=0, high=2**32 - 1)
    check_bool("shuffle", shuffle)
    return [
        _sampler_shard(n, world_size, r, epoch, seed, shuffle, False) for r in range(world_size)
    ]


def _sampler_shard(n, world_size, rank, epoch, seed, shuffle, drop_last) -> list[int]:
    """``DistributedSampler``'s indices for worker ``rank`` after ``set_epoch(epoch)``."""
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(range(n), num_replicas=world_size, rank=rank, shuffle=shuffle,
                                 seed=seed, drop_last=drop_last)  # fmt: skip
    sampler.set_epoch(epoch)
    return list(sampler)


def _global_batch(shards: list[list[int]], iteration: int, batch_size: int) -> list[int]:
    """The sample indices of one iteration's global batch (``iteration`` 0 is the first): worker
    0's micro-batch of its shard, then worker 1's, … (chapter 09's your-turn t2).

    >>> _global_batch([[4, 0, 6, 2], [7, 3, 5, 1]], 1, 2)
    [6, 2, 5, 1]
    """
    start = iteration * batch_size
    return [i for shard in shards for i in shard[start : start + batch_size]]


def global_batches(
    n: int, world_size: int, batch_size: int, epoch: int, *, seed: int = 0, make=_global_batch
) -> list[torch.Tensor]:
    """The big batches that W workers with per-worker batch ``batch_size`` process together in
    one epoch: batch j is worker 0's j-th slice, then worker 1's, … (so that splitting it into W
    equal micro-batches gives back each worker's slice). ``make(shards, iteration, batch_size)``
    makes each one (a student's ``global_batch``, in the notebook).

    >>> [b.tolist() for b in global_batches(8, 2, 2, 0)][0]
    [4, 7, 0, 3]
    """
    shards = shard_indices(n, world_size, epoch, seed=seed)
    check_batch_fits(batch_size, n, world_size)
    if not callable(make):
        raise TypeError(f"make must be a function (shards, iteration, batch_size), got {make!r}")
    per_worker = len(shards[0])
    return [
        torch.as_tensor(make(shards, j, batch_size), dtype=torch.long)
        for j in range(-(-per_worker // batch_size))
    ]


@dataclass
class ParallelRun:
    """What a data-parallel run returned: final parameters (identical on every worker), the
    seconds per epoch seen by worker 0, and the settings it was trained with."""

    world_size: int
    batch_size: int
    epochs: int
    params: dict[str, list]
    epoch_seconds: list[float]
    start_seconds: float
    workers_agree: bool
    n: int
    lr: float
    momentum: float
    seed: int

    @property
    def settings(self) -> dict:
        """The training settings, as :func:`single_process_references` takes them."""
        return dict(n=self.n, batch_size=self.batch_size, epochs=self.epochs, lr=self.lr,
                    momentum=self.momentum, seed=self.seed)  # fmt: skip

    def tensors(self) -> dict[str, torch.Tensor]:
        return {k: torch.tensor(v, dtype=torch.float32) for k, v in self.params.items()}


def check_batch_fits(batch_size: int, n: int, world_size: int) -> int:
    """``batch_size`` (per worker) checked against a worker's shard, ceil(n / W) samples: a
    larger batch would silently be the whole shard.

    >>> check_batch_fits(32, 40, 2)
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be between 1 and 20, the shard of each of the 2 workers (ceil(n=40 / 2)), got 32
    """
    batch_size = check_int("batch_size", batch_size, low=1)
    shard = -(-n // world_size)
    if batch_size > shard:
        raise ValueError(
            f"batch_size must be between 1 and {shard}, the shard of each of the {world_size} "
            f"workers (ceil(n={n} / {world_size})), got {batch_size}"
        )
    return batch_size


def check_world_sizes(world_sizes, n: int | None = None) -> list[int]:
    """The world sizes as a list of distinct integers in 1..MAX_WORKERS (and at most ``n``).

    >>> check_world_sizes((1, 2, 4))
    [1, 2, 4]
    """
    allowed = f"a non-empty list of distinct integers from 1 to {MAX_WORKERS}"
    if isinstance(world_sizes, (str, bytes)) or not hasattr(world_sizes, "__iter__"):
        raise TypeError(f"world_sizes must be {allowed}, got {world_sizes!r}")
    sizes = list(world_sizes)
    if not all(isinstance(w, Integral) and not isinstance(w, bool) for w in sizes):
        raise TypeError(f"world_sizes must be {allowed}, got {world_sizes!r}")
    sizes = [int(w) for w in sizes]
    if not sizes or len(set(sizes)) != len(sizes) or not all(1 <= w <= MAX_WORKERS for w in sizes):
        raise ValueError(f"world_sizes must be {allowed}, got {world_sizes!r}")
    if n is not None and max(sizes) > n:
        raise ValueError(
            f"n must be at least the largest world size ({max(sizes)}), so that every worker has "
            f"a sample of its own; got n={n}"
        )
    return sizes


def check_parameters(
    *, seed: int, n: int, batch_size: int, epochs: int, lr: float, world_sizes
) -> tuple[dict, list[int]]:
    """The chapter's parameters checked together, with a message naming any value that is not
    allowed; returns the training settings and the world sizes.

    >>> check_parameters(seed=0, n=64, batch_size=8, epochs=1, lr=0.1, world_sizes=[1, 2])[1]
    [1, 2]
    """
    config = dict(
        n=check_int("n", n, low=2),
        batch_size=check_int("batch_size", batch_size, low=1),
        epochs=check_int("epochs", epochs, low=1),
        lr=check_float("lr", lr, low=0.0, low_open=True),
        seed=check_int("seed", seed, low=0, high=2**32 - 1),
    )
    sizes = check_world_sizes(world_sizes, config["n"])
    check_batch_fits(config["batch_size"], config["n"], max(sizes))  # the smallest shard
    return config, sizes


# --- the worker processes ---------------------------------------------------------------------


def _worker(rank: int, world_size: int, run_dir: str, config: dict) -> None:
    """One worker process: train and report (:func:`_train`), then leave with ``os._exit``.

    Leaving this way frees nothing: the DDP model, its reducer and the gloo process group are
    never destroyed in this process. Destroying them here, as returning from a function or a
    normal interpreter exit would, runs gloo's C++ destructors while this thread holds the GIL,
    and a gloo thread that needs the GIL to drop its last Python reference then either waits
    forever (a hang) or, during interpreter shutdown, is ended by Python with ``pthread_exit``,
    which C++ turns into "terminate called without an active exception" (SIGABRT).
    """
    _die_with_parent()
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # where it hangs, if it ever does
    try:
        _train(rank, world_size, Path(run_dir), config)
    except BaseException as exc:
        traceback.print_exc()
        (Path(run_dir) / f"error-{rank}.txt").write_text(f"{type(exc).__name__}: {exc}")
        _leave(1)  # from inside the handler: the traceback still holds _train's objects


def _leave(code: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _train(rank: int, world_size: int, run_dir: Path, config: dict) -> None:
    """Join the group, train with DDP and a DistributedSampler, (worker 0) write the result, and
    leave the process without returning."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{run_dir}/rendezvous", rank=rank,
                            world_size=world_size, timeout=timedelta(seconds=config["timeout"]))  # fmt: skip
    if config["fail_rank"] == rank:  # tests of the clean-up
        if config["fail_with"] == "abort":
            os.abort()  # a crash: SIGABRT, no Python exception
        raise RuntimeError(f"worker {rank} failed on purpose (a test of clean-up)")
    data = quadratic_data(config["n"], seed=config["seed"])
    dataset = TensorDataset(data.X, data.y)
    model = DistributedDataParallel(tutorial_mlp(seed=config["seed"]))
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True,
                                 seed=config["seed"])  # fmt: skip
    loader = DataLoader(dataset, batch_size=config["batch_size"], sampler=sampler)
    optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=config["momentum"])
    seconds = []
    for epoch in range(config["epochs"]):
        sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every worker
        dist.barrier()
        start = time.perf_counter()
        for xb, yb in loader:
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(xb), yb).backward()  # DDP all-reduces here
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    gathered = [torch.zeros_like(flat) for _ in range(world_size)]
    dist.all_gather(gathered, flat)
    if rank == 0:
        params = {k.removeprefix("module."): v.tolist() for k, v in model.state_dict().items()}
        result = {"params": params, "epoch_seconds": seconds,
                  "workers_agree": all(torch.equal(g, flat) for g in gathered)}  # fmt: skip
        _write_atomically(run_dir / "result.json", json.dumps(result))
    dist.barrier()  # nobody leaves while another worker may still talk to it
    dist.destroy_process_group()
    _leave(0)  # from here, with the model still alive (see _worker)


def _launch() -> None:
    """The launcher process: import PyTorch once, fork the workers, wait for every one of them.

    Run by :func:`run_data_parallel` as ``python -c ... RUN_DIR``; reads ``RUN_DIR/job.json``,
    and on failure writes the reason to ``RUN_DIR/error.txt`` and exits with code 1.
    """
    _die_with_parent()
    import gc

    import torch._dynamo  # noqa: F401  (DDP imports it: imported once here, forked workers share it)
    import torch.multiprocessing as mp

    run_dir = Path(sys.argv[1])
    job = json.loads((run_dir / "job.json").read_text())
    gc.freeze()  # the workers' garbage collector then never touches (so never copies) these pages
    deadline = time.monotonic() + job["config"]["timeout"]
    context = mp.start_processes(_worker, args=(job["world_size"], str(run_dir), job["config"]),
                                 nprocs=job["world_size"], join=False, start_method="fork")  # fmt: skip
    try:
        while not context.join(timeout=max(0.0, deadline - time.monotonic()), grace_period=5):
            if time.monotonic() >= deadline:
                _dump_stacks(context.processes)
                raise TimeoutError(
                    f"the workers did not finish within {job['config']['timeout']:g} s"
                )
    except Exception as exc:
        (run_dir / "error.txt").write_text(_reason(exc, run_dir, context.processes) + "\n")
        sys.exit(1)
    finally:
        for process in context.processes:
            if process.is_alive():
                process.kill()
            process.join()


def _dump_stacks(processes) -> None:
    """Have every live worker print where it is (into the log), before it is ended."""
    for process in processes:
        if process.is_alive():
            os.kill(process.pid, signal.SIGUSR1)
    time.sleep(1.0)


def _reason(exc: BaseException, run_dir: Path, processes=()) -> str:
    """One line saying why the workers failed: the cause, not its echo.

    When one worker dies, the others fail soon after with gloo's "Connection closed by peer";
    which of them PyTorch reports first is a race. So a worker killed by a signal the launcher
    did not send comes first, then a worker that raised anything but a lost peer, and only then
    the worker PyTorch reported.
    """
    index = getattr(exc, "error_index", None)
    if index is None:
        return str(exc)
    codes = [process.exitcode for process in processes]
    crashed = [i for i, code in enumerate(codes) if code is not None and code < 0
               and -code not in (signal.SIGTERM, signal.SIGKILL)]  # fmt: skip
    messages = [_raised(run_dir, i) for i in range(len(codes))]
    raised = [i for i, m in enumerate(messages) if m is not None and not _LOST_PEER.search(m)]
    index = (crashed or raised or [index])[0]
    code = codes[index] if index < len(codes) else getattr(exc, "exit_code", None)
    if code is not None and code < 0:
        return f"worker {index} {_describe_exit(code)}"
    message = _raised(run_dir, index)
    if message is not None:
        return f"worker {index} raised {message or 'an exception'}"
    return f"worker {index} exited with code {code if code is not None else '?'}"


_LOST_PEER = re.compile(r"(closed|reset) by peer|Connection (closed|reset|refused)", re.IGNORECASE)


def _raised(run_dir: Path, index: int) -> str | None:
    """The first line of what worker ``index`` raised, or None if it raised nothing."""
    reported = run_dir / f"error-{index}.txt"
    if not reported.exists():
        return None
    lines = reported.read_text().strip().splitlines()
    return lines[0] if lines else ""


def _die_with_parent() -> None:
    """Ask Linux to kill this process if its parent dies, so no worker outlives a lost run."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the parent's clean-up has to do
        pass


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _launcher_env() -> dict[str, str]:
    env = dict(os.environ)
    # One thread per worker (on 2 cores more threads only compete). It also keeps the launcher
    # single-threaded (numpy's OpenBLAS would start a thread), so forking it is safe.
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    loopback = next((name for _, name in socket.if_nameindex() if name.startswith("lo")), None)
    if loopback:  # gloo talks over 127.0.0.1, whatever the machine's name resolves to
        env.setdefault("GLOO_SOCKET_IFNAME", loopback)
    root = str(Path(__file__).resolve().parents[2])  # the launcher imports this very package
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _end_process_group(launcher: subprocess.Popen) -> None:
    """Kill the launcher and every worker it forked (its own process group), then reap it."""
    if launcher.poll() is None:  # still running, so its group id is still its own
        try:
            os.killpg(launcher.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    launcher.wait()


def _run_launcher(world_size: int, config: dict, run_dir: Path) -> None:
    (run_dir / "job.json").write_text(json.dumps({"world_size": world_size, "config": config}))
    command = [sys.executable, "-c",
               "from gdlessons.chapters.ch09_data_parallel import _launch; _launch()", str(run_dir)]  # fmt: skip
    with open(run_dir / "log.txt", "w") as log:
        try:
            launcher = subprocess.Popen(command, env=_launcher_env(), stdin=subprocess.DEVNULL,
                                        stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)  # fmt: skip
        except OSError as exc:
            raise WorkersFailed(f"could not start the launcher process: {exc}") from exc
        try:
            # The launcher enforces the timeout on the workers; this one, with time for the
            # launcher to import PyTorch, is in case the launcher itself hangs.
            launcher.wait(timeout=config["timeout"] + LAUNCH_SECONDS)
        except subprocess.TimeoutExpired:
            raise WorkersFailed(
                f"the launcher did not finish within {config['timeout'] + LAUNCH_SECONDS:g} s"
            ) from None
        finally:
            _end_process_group(launcher)  # on success a no-op; on an interrupt, no orphans
    output = (run_dir / "log.txt").read_text(errors="replace")
    if launcher.returncode != 0:
        error = run_dir / "error.txt"
        if error.exists():
            reason = error.read_text().strip()
        else:
            last = [ln for ln in output.splitlines() if ln.strip()][-1:]
            reason = f"the launcher {_describe_exit(launcher.returncode)}" + (
                f" ({last[0].strip()})" if last else ""
            )
        raise WorkersFailed(reason, output)
    if not (run_dir / "result.json").exists():
        raise WorkersFailed("the workers finished without reporting a result", output)


def run_data_parallel(
    world_size: int = 2,
    *,
    n: int = 1000,
    batch_size: int = 32,
    epochs: int = 3,
    lr: float = 0.01,
    momentum: float = 0.0,
    seed: int = 0,
    timeout: float = 300.0,
    fail_rank: int | None = None,
    fail_with: str = "exception",
) -> ParallelRun:
    """Train the tutorial MLP on W worker processes with DDP and return the result.

    ``batch_size`` is per worker (the effective batch is W·b). If a worker raises or crashes, or
    the run takes longer than ``timeout`` seconds, every process is ended and
    :class:`WorkersFailed` says why. ``fail_rank`` makes that worker fail on purpose (tests),
    by raising (``fail_with="exception"``) or by crashing (``"abort"``).
    """
    import multiprocessing

    world_size = check_int("world_size", world_size, low=1, high=MAX_WORKERS)
    n = check_int("n", n, low=max(2, world_size))
    batch_size = check_batch_fits(batch_size, n, world_size)
    epochs = check_int("epochs", epochs, low=1)
    lr = check_float("lr", lr, low=0.0, low_open=True)
    momentum = check_float("momentum", momentum, low=0.0, high=1.0, high_open=True)
    seed = check_int("seed", seed, low=0, high=2**32 - 1)
    timeout = check_float("timeout", timeout, low=0.0, low_open=True)
    if fail_rank is not None:
        fail_rank = check_int("fail_rank", fail_rank, low=0, high=world_size - 1)
    fail_with = check_choice("fail_with", fail_with, ("exception", "abort"))
    if "fork" not in multiprocessing.get_all_start_methods():
        raise WorkersFailed("the workers are forked from a launcher, and this system cannot fork")
    config = dict(n=n, batch_size=batch_size, epochs=epochs, lr=lr, momentum=momentum, seed=seed,
                  timeout=timeout, fail_rank=fail_rank, fail_with=fail_with)  # fmt: skip
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gdlessons-ddp-") as tmp:
        _run_launcher(world_size, config, Path(tmp))
        result = json.loads((Path(tmp) / "result.json").read_text())
    total = time.perf_counter() - start
    return ParallelRun(world_size, batch_size, epochs, result["params"], result["epoch_seconds"],
                       total - sum(result["epoch_seconds"]), result["workers_agree"], n=n, lr=lr,
                       momentum=momentum, seed=seed)  # fmt: skip


def single_process_references(
    world_size: int, *, n: int = 1000, batch_size: int = 32, epochs: int = 3, lr: float = 0.01,
    momentum: float = 0.0, seed: int = 0, make=_global_batch,
) -> dict[str, dict[str, torch.Tensor]]:  # fmt: skip
    """The two one-process runs that W workers must equal, both through ``train()`` on the same
    global batches (each made by ``make``, as :func:`global_batches` takes it): one batch of W·b
    per update, and W accumulated micro-batches of b."""
    world_size = check_int("world_size", world_size, low=1)
    n = check_int("n", n, low=max(2, world_size))
    batch_size = check_batch_fits(batch_size, n, world_size)
    check_int("epochs", epochs, low=1)
    check_int("seed", seed, low=0, high=2**32 - 1)
    data = quadratic_data(n, seed=seed)
    order = lambda epoch: global_batches(n, world_size, batch_size, epoch - 1, seed=seed, make=make)  # noqa: E731
    results = {}
    for name, steps in (("one big batch", 1), ("accumulation", world_size)):
        model = tutorial_mlp(seed=seed)
        train(model, data, epochs=epochs, lr=lr, momentum=momentum,
              accumulation_steps=steps, batches=order)  # fmt: skip
        results[name] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return results


def compare(run: ParallelRun, references: dict[str, dict[str, torch.Tensor]]) -> list[dict]:
    """Largest absolute parameter difference between the parallel run and each reference.

    "Equal within 1e-6" is relative to the parameters' size once it exceeds 1: float32 rounding
    grows with the numbers rounded (a large learning rate makes large parameters).
    """
    check_instance("run", run, ParallelRun, "a ParallelRun, as run_data_parallel returns")
    check_mapping(
        "references", references, what="parameters (single_process_references returns them)"
    )
    params = run.tensors()
    rows = []
    for name, ref in references.items():
        diff = max(float((params[k] - ref[k]).abs().max()) for k in ref)
        scale = max(1.0, *(float(v.abs().max()) for v in ref.values()))
        rows.append({"W": run.world_size, "compared with": name, "largest |difference|": diff,
                     "equal within 1e-6": diff <= 1e-6 * scale})  # fmt: skip
    return rows


def equivalence_rows(runs: list[ParallelRun], *, make=_global_batch) -> list[dict]:
    """:func:`compare` for every run with more than one worker, each against the references
    trained with that run's own settings, on the global batches ``make`` makes."""
    check_sequence("runs", runs, item=lambda name, r: check_instance(name, r, ParallelRun))
    return [
        row
        for run in runs
        if run.world_size > 1
        for row in compare(
            run, single_process_references(run.world_size, **run.settings, make=make)
        )
    ]


def padding_report(n: int, world_size: int, *, seed: int = 0, shard=_sampler_shard) -> dict:
    """What padding does when W does not divide N: duplicated samples per epoch. ``shard(n,
    world_size, rank, epoch, seed, shuffle, drop_last)`` gives each worker's indices
    (``DistributedSampler``'s; in the notebook, a student's ``worker_shard``).

    >>> padding_report(5, 2)["duplicated"]
    1
    """
    shard_indices(n, world_size, 0, seed=seed)  # checks n, world_size and seed
    if not callable(shard):
        raise TypeError(
            "shard must be a function (n, world_size, rank, epoch, seed, shuffle, drop_last), "
            f"got {shard!r}"
        )
    shards = [shard(n, world_size, rank, 0, seed, True, False) for rank in range(world_size)]
    flat = [int(i) for s in shards for i in s]
    return {"N": n, "W": world_size, "per worker": len(shards[0]), "samples processed": len(flat),
            "duplicated": len(flat) - len(set(flat)), "missing": n - len(set(flat))}  # fmt: skip


LEGEND_BATCHES = 8  # batches named in the shard picture's legend; more are summed up in one entry


def _shard_rows(n: int, world_size: int, batch_size: int, epochs: int, seed: int):
    """The shard picture's pixels, one row per (epoch, worker): in each sample's column, the
    worker's batch it falls in (0, 1, ...), NaN where it is in another worker's shard; and the
    number of batches per worker per epoch."""
    rows = []
    for epoch in range(epochs):
        for shard in shard_indices(n, world_size, epoch, seed=seed):
            row = np.full(n, np.nan)
            for j, i in enumerate(shard):
                row[i] = j // batch_size
            rows.append(row)
    batches = -(-len(shard_indices(n, world_size, 0)[0]) // batch_size)
    return np.array(rows), batches


def _batch_colours(batches: int):
    """A colour per batch (tab20, repeating after 20) as a colormap over batch numbers 0, 1, ...,
    and the legend's patches (:func:`_legend_entries`)."""
    from matplotlib.patches import Patch

    handles = [Patch(color=colour, label=label) for label, colour in _legend_entries(batches)]
    return _batch_colormap(batches), handles


@functools.lru_cache(maxsize=128)
def _batch_colormap(batches: int):
    """:func:`_batch_colours`' colormap alone, made once per number of batches."""
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    return ListedColormap([colormaps["tab20"](j % 20) for j in range(batches)])


def _legend_entries(batches: int) -> list[tuple[str, object]]:
    """The legend's (label, colour) for ``batches`` batches: each batch while they fit, else the
    first ones and an uncoloured "… to batch ``batches``"."""
    from matplotlib import colormaps

    shown = batches if batches <= LEGEND_BATCHES else LEGEND_BATCHES - 1
    entries = [(f"batch {j + 1}", colormaps["tab20"](j % 20)) for j in range(shown)]
    if shown < batches:
        entries.append((f"… to batch {batches}", "none"))
    return entries


def _shard_title(n: int, world_size: int, batch_size: int) -> str:
    return f"DistributedSampler: N={n} samples over W={world_size} workers, batch {batch_size} each"


def _whole_shard(asked: int) -> str:
    """The legend's one entry when the batch asked for is above the shard."""
    return f"batch 1 = the\nwhole shard\n({asked} asked)"


_SHARD_LEGEND = dict(title="worker's batch", loc="upper left", bbox_to_anchor=(1.01, 1),
                     borderaxespad=0)  # fmt: skip
_SHARD_XLABEL = "sample index (blank: the sample is in another worker's shard)"


def draw_shards(
    n: int, world_size: int, batch_size: int, *, epochs: int = 2, seed: int = 0, ax=None
):
    """Which worker and which batch each sample falls in, one row per (epoch, worker)."""
    from gdlessons.display.plots import new_axes  # imported here: worker processes never draw

    shard_indices(n, world_size, 0, seed=seed)  # checks n, world_size and seed
    batch_size = check_batch_fits(batch_size, n, world_size)
    epochs = check_int("epochs", epochs, low=1)
    fig, ax = new_axes(ax, figsize=(7.5, 0.45 * epochs * world_size + 1.5))
    rows, batches = _shard_rows(n, world_size, batch_size, epochs, seed)
    cmap, handles = _batch_colours(batches)
    ax.imshow(rows, aspect="auto", cmap=cmap, vmin=-0.5, vmax=batches - 0.5,
              interpolation="nearest")  # fmt: skip
    labels = [f"epoch {e + 1}, worker {r}" for e in range(epochs) for r in range(world_size)]
    ax.set_yticks(range(len(labels)), labels)
    ax.grid(False)
    ax.set_xlabel(_SHARD_XLABEL)
    ax.set_title(_shard_title(n, world_size, batch_size))
    ax.legend(handles=handles, **_SHARD_LEGEND)
    return fig


class _ShardPicture:
    """The shard explorer's figure, built once and kept. :meth:`draw` changes the coloured
    cells, the x axis, the spines, the title and the legend, all animated (see
    :mod:`gdlessons.display.redraw`); the y axis, one row per (epoch, worker), is still and
    changes with W alone: :meth:`background` is W. The figure has one size for every W (rows
    get thinner as W grows), and its layout is made once, with room for the widest legend any
    state up to ``max_n`` samples shows. Nothing is made anew per move: the cells are a mesh of
    ``max_n`` columns by one row per (epoch, worker) of ``max_world_size`` workers, of which the
    axes show the state's, and the legend has its most entries, of which it shows the state's.

    A per-worker batch above the shard ⌈N / W⌉ (the explorer's slider allows it) is drawn as the
    whole shard, and the legend says so.

    >>> picture = _ShardPicture()
    >>> picture.draw(49, 3, 4).axes[0].get_title()
    'DistributedSampler: N=49 samples over W=3 workers, batch 4 each'
    >>> [label for label, _ in picture.legend_entries()]
    ['batch 1', 'batch 2', 'batch 3', 'batch 4', 'batch 5']
    >>> _ = picture.draw(8, 6, 16); [label for label, _ in picture.legend_entries()]
    ['batch 1 = the\\nwhole shard\\n(16 asked)']
    """

    def __init__(
        self,
        *,
        epochs: int = 2,
        seed: int = 0,
        max_n: int = 120,
        max_world_size: int = 6,
        height: float = 3.8,
    ):
        from matplotlib import rc_context
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch

        self.epochs = check_int("epochs", epochs, low=1)
        self.seed = check_int("seed", seed, low=0, high=2**32 - 1)
        self.max_n = check_int("max_n", max_n, low=1)
        self.max_world_size = check_int("max_world_size", max_world_size, low=1, high=max_n)
        height = check_float("height", height, low=2.0, high=9.0)
        fig = Figure(figsize=(7.5, height), layout="constrained")
        ax = fig.subplots()
        # A mesh, not an image: Agg fills its cells much faster than it resamples an image.
        self.cells = np.ma.masked_all((self.epochs * self.max_world_size, self.max_n))
        self.mesh = ax.pcolormesh(np.arange(self.max_n + 1) - 0.5,
                                  np.arange(len(self.cells) + 1) - 0.5, self.cells, animated=True)  # fmt: skip
        ax.grid(False)
        ax.set_xlabel(_SHARD_XLABEL)
        # The x axis' ticks follow N, its long label does not: the ticks are drawn by a second
        # x axis on the same place and limits (animated), and the axes' own x axis keeps the
        # label where its (invisible) tick labels put it (still).
        ax.tick_params(axis="x", color="none", labelcolor="none")
        self.ticks = ax.secondary_xaxis("bottom")
        self.ticks.spines["bottom"].set_visible(False)
        self.ticks.set_animated(True)
        for artist in (ax.title, *ax.spines.values()):
            artist.set_animated(True)  # the spines are drawn over the cells, as in a full draw
        self.figure, self.ax = fig, ax
        self._world_size = None
        # The legend: LEGEND_BATCHES entries, each row shown or hidden, its colour and text set.
        handles = [Patch(label=f"batch {j + 1}") for j in range(LEGEND_BATCHES)]
        self.legend = ax.legend(handles=handles, **_SHARD_LEGEND)
        self.legend.set_animated(True)
        self._rows = _legend_rows(self.legend)
        # The layout, made once with room for the widest legend entries and then kept: the y
        # labels have one width for every W, and the titles fit over the axes.
        self.draw(self.max_n, 1, 1)
        self._show_legend(
            [(f"… to batch {self.max_n}", "none"), (_whole_shard(self.max_n), "none")]
        )
        fig.draw_without_rendering()
        with rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
            fig.set_layout_engine(None)
        self.draw(self.max_n, 1, 1)

    @staticmethod
    def background(n: int, world_size: int, batch_size: int) -> int:
        """What the still part (the y axis) depends on: W."""
        return world_size

    def draw(self, n: int, world_size: int, batch_size: int) -> Figure:
        """Show N = ``n`` samples over ``world_size`` workers with ``batch_size`` per worker (at
        most the shard); returns the kept figure."""
        shard_indices(n, world_size, 0, seed=self.seed)  # checks n and world_size
        if n > self.max_n or world_size > self.max_world_size:
            raise ValueError(
                f"n and world_size must be at most {self.max_n} and {self.max_world_size} "
                f"(the picture's size), got {n} and {world_size}"
            )
        batch_size = check_int("batch_size", batch_size, low=1)
        b = min(batch_size, -(-n // world_size))
        rows, batches = _shard_rows(n, world_size, b, self.epochs, self.seed)
        entries = _legend_entries(batches)
        if b < batch_size:  # the whole shard is one batch
            entries = [(_whole_shard(batch_size), entries[0][1])]
        self.cells.mask = True
        self.cells[: len(rows), :n] = np.ma.masked_invalid(rows)
        self.mesh.set_array(self.cells)
        self.mesh.set_cmap(_batch_colormap(batches))
        self.mesh.set_clim(-0.5, batches - 0.5)
        ax = self.ax
        ax.set(xlim=(-0.5, n - 0.5), ylim=(len(rows) - 0.5, -0.5))
        if world_size != self._world_size:  # the still y axis: set only when W changes
            labels = [
                f"epoch {e + 1}, worker {r}" for e in range(self.epochs) for r in range(world_size)
            ]
            ax.set_yticks(range(len(labels)), labels)
            self._world_size = world_size
        ax.set_title(_shard_title(n, world_size, b))
        self._show_legend(entries)
        return self.figure

    def _show_legend(self, entries: list[tuple[str, object]]) -> None:
        """Show the legend's first rows with these (label, colour) entries, hide the others."""
        rows = zip(self._rows, self.legend.texts, self.legend.legend_handles, strict=True)
        for i, (row, text, handle) in enumerate(rows):
            row.set_visible(i < len(entries))
            if i < len(entries):
                text.set_text(entries[i][0])
                handle.set_color(entries[i][1])

    def legend_entries(self) -> list[tuple[str, tuple]]:
        """The legend's entries as shown now: (label, RGBA colour of its patch)."""
        rows = zip(self._rows, self.legend.texts, self.legend.legend_handles, strict=True)
        return [(t.get_text(), tuple(h.get_facecolor())) for row, t, h in rows if row.get_visible()]


def _legend_rows(legend) -> list:
    """The rows (handle and text) of a one-column ``legend``, through the public
    ``get_children`` of its boxes: the legend box holds the title and the entries' box, which
    holds one column of rows."""
    box = legend.get_children()[0]
    _, entries = box.get_children()
    (column,) = entries.get_children()
    rows = column.get_children()
    texts = [row.get_children()[1].get_text() for row in rows]
    if texts != [t.get_text() for t in legend.texts]:
        raise RuntimeError(
            f"the legend's rows could not be found (this matplotlib lays out {texts})"
        )
    return rows


def draw_epoch_times(runs: list[ParallelRun], *, ax=None):
    """Median seconds per epoch against the number of workers, next to the ideal 1/W."""
    from gdlessons.display.plots import new_axes

    runs = check_sequence("runs", runs, item=lambda name, r: check_instance(name, r, ParallelRun))
    fig, ax = new_axes(ax)
    runs = sorted(runs, key=lambda r: r.world_size)
    secs = [float(np.median(r.epoch_seconds)) for r in runs]
    base = runs[0]
    ideal = [secs[0] * base.world_size / r.world_size for r in runs]
    x = range(len(runs))
    ax.bar(x, secs, color="tab:blue", label="measured (median over epochs)")
    ax.scatter(x, ideal, marker="_", s=900, linewidths=2.5, color="tab:orange", zorder=3,
               label=f"ideal: W={base.world_size}'s time × {base.world_size}/W")  # fmt: skip
    for i, s in enumerate(secs):
        ax.annotate(f"{s:.2f} s", (i, s), ha="center", va="bottom", fontsize=9)
    ax.set_xticks(list(x), [str(r.world_size) for r in runs])
    batch_sizes = sorted({r.batch_size for r in runs})
    per_worker = f"batch {batch_sizes[0]}" if len(batch_sizes) == 1 else "its batch"
    ax.set_xlabel(f"workers (W), each with {per_worker} per iteration")
    ax.set_ylabel("seconds per epoch")
    ax.set_title("Time per epoch on this machine's CPU cores")
    ax.set_ylim(0, 1.35 * max(secs + ideal))  # room for the legend above the bars
    ax.legend(loc="upper center", ncols=2)
    return fig


def run_or_stored(
    world_sizes=(1, 2, 4), *, force_stored: bool = False, **config
) -> tuple[list[ParallelRun], str]:
    """Run each W for real; if the workers cannot be started or do not finish, fall back to the
    results stored with the package and say why. Returns the runs and where they came from."""
    world_sizes = check_world_sizes(world_sizes)
    check_bool("force_stored", force_stored)
    allowed = {*DEFAULTS, "timeout", "fail_rank", "fail_with"}  # run_data_parallel's own keywords
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise TypeError(f"config keys must be among {sorted(allowed)}, got {unknown}")
    # checked even when the stored results are shown, so a bad value is never silently ignored
    settings = {**DEFAULTS, **config}
    check_parameters(**{k: settings[k] for k in ("seed", "n", "batch_size", "epochs", "lr")},
                     world_sizes=world_sizes)  # fmt: skip
    check_float("momentum", settings["momentum"], low=0.0, high=1.0, high_open=True)
    if not force_stored:
        try:
            return [run_data_parallel(w, **config) for w in world_sizes], "measured now"
        except (WorkersFailed, OSError) as exc:  # OSError: e.g. no room for the run's files
            reason = str(exc) if isinstance(exc, WorkersFailed) else f"{type(exc).__name__}: {exc}"
    else:
        reason = "force_stored=True"
    stored = json.loads(STORED.read_text())
    runs = [ParallelRun(**r) for r in stored["runs"] if r["world_size"] in world_sizes]
    settings = ", ".join(f"{k}={v}" for k, v in stored["config"].items())
    return runs, (
        f"stored results from {stored['when']}, trained with {settings} "
        f"(could not run the workers here: {reason})"
    )


def store_results(path: Path = STORED, **config) -> None:
    """Write the results that :func:`run_or_stored` falls back to (run by the maintainers)."""
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"config keys must be among {sorted(DEFAULTS)}, got {unknown}")
    config = {**DEFAULTS, **config}
    check_parameters(**{k: config[k] for k in ("seed", "n", "batch_size", "epochs", "lr")},
                     world_sizes=range(1, MAX_WORKERS + 1))  # fmt: skip
    runs = [run_data_parallel(w, **config) for w in range(1, MAX_WORKERS + 1)]
    path.parent.mkdir(exist_ok=True)
    payload = {
        "when": time.strftime("%Y-%m-%d"),
        "config": config,
        "runs": [asdict(r) for r in runs],
    }
    path.write_text(json.dumps(payload) + "\n")


def shard_explorer(n: int = 48, world_size: int = 2, batch_size: int = 4):
    """Sliders for N, W and the per-worker batch, starting at the given values: the shard
    picture and the counts redraw.

    The batch slider's range (1 to 16) does not follow the N and W sliders, so the slider can ask
    for a per-worker batch above a worker's shard ⌈N / W⌉. That batch is drawn as the whole shard
    (one batch per worker per epoch, as the ``DataLoader`` over the shard would give): this clamp
    is part of the explorer, the legend and the readout then say so, and the readout counts the
    effective batch with the shard. :func:`run_data_parallel` itself raises on such a batch.
    """
    import ipywidgets as w

    from gdlessons.display.explorer import Explorer
    from gdlessons.settings import rendering

    controls = {
        "n": w.IntSlider(value=n, min=8, max=120, description="samples N"),
        "world_size": w.IntSlider(value=world_size, min=1, max=6, description="workers W"),
        "batch_size": w.IntSlider(value=batch_size, min=1, max=16, description="batch / worker"),
    }
    start = {"n": n, "world_size": world_size, "batch_size": batch_size}

    def readout(n, world_size, batch_size):
        pad = padding_report(n, world_size)
        per_worker = pad["per worker"]
        b = min(batch_size, per_worker)  # the clamp of draw(): a batch holds at most the shard
        iterations = -(-per_worker // b)
        capped = (
            f"\n(batch / worker {batch_size} is above the shard of {per_worker}: each worker's one "
            "batch is its whole shard)"
            if b < batch_size
            else ""
        )
        return (
            f"effective batch W·b = {world_size * b}\n"
            f"{per_worker} samples per worker per epoch, {iterations} iterations per epoch\n"
            f"padded (repeated) samples: {pad['duplicated']}" + capped
        )

    # One figure is kept; the artists the sliders change are animated, but for the y axis (W).
    picture = _ShardPicture(
        epochs=2, max_n=controls["n"].max, max_world_size=controls["world_size"].max
    )
    explorer = Explorer(
        picture.draw,
        controls,
        title="DistributedSampler explorer",
        readout=readout,
        start=start,
        background=picture.background,
    )
    if not rendering():  # the live widget: each W's still part drawn now, not on a slider move
        for size in range(controls["world_size"].min, controls["world_size"].max + 1):
            explorer.png(world_size=size)
    return explorer


EXPLORERS = {"ch09-shard-explorer": shard_explorer}


if (
    __name__ == "__main__"
):  # python -m gdlessons.chapters.ch09_data_parallel: refresh stored results
    store_results()
