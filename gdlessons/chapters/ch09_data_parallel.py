"""Data parallelism with PyTorch's own engine: ``torch.distributed`` (gloo) and
``DistributedDataParallel`` on worker processes of this machine.

Each of W workers takes its shard of every batch (a ``DistributedSampler``), computes gradients,
and DDP's all-reduce averages them, so every worker takes the same step: W workers × b samples
is one batch of W·b, and the same as accumulating W micro-batches. This module runs that for
real, computes the two single-process references through :func:`gdlessons.training.train`, and
always cleans up its worker processes, also when one fails.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch

from gdlessons._validate import check_float, check_int
from gdlessons.data import quadratic_data
from gdlessons.models import tutorial_mlp
from gdlessons.training import train

STORED = Path(__file__).parents[1] / "stored" / "data_parallel.json"


def shard_indices(
    n: int, world_size: int, epoch: int, *, seed: int = 0, shuffle: bool = True
) -> list[list[int]]:
    """Each worker's sample indices for one epoch, exactly as ``DistributedSampler`` gives them
    (shuffled with ``seed + epoch``, padded by repeating the first indices to a multiple of W,
    then dealt out rank by rank).

    >>> shard_indices(5, 2, 0, shuffle=False)
    [[0, 2, 4], [1, 3, 0]]
    """
    from torch.utils.data import DistributedSampler

    n = check_int("n", n, low=1)
    world_size = check_int("world_size", world_size, low=1)
    shards = []
    for rank in range(world_size):
        sampler = DistributedSampler(
            range(n), num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed
        )
        sampler.set_epoch(epoch)
        shards.append(list(sampler))
    return shards


def global_batches(
    n: int, world_size: int, batch_size: int, epoch: int, *, seed: int = 0
) -> list[torch.Tensor]:
    """The big batches that W workers with per-worker batch ``batch_size`` process together in
    one epoch: batch j is worker 0's j-th slice, then worker 1's, … (so that splitting it into W
    equal micro-batches gives back each worker's slice).

    >>> [b.tolist() for b in global_batches(8, 2, 2, 0)][0]
    [4, 7, 0, 3]
    """
    shards = shard_indices(n, world_size, epoch, seed=seed)
    per_worker = len(shards[0])
    return [
        torch.tensor([i for shard in shards for i in shard[start : start + batch_size]])
        for start in range(0, per_worker, batch_size)
    ]


@dataclass
class ParallelRun:
    """What a data-parallel run returned: final parameters (identical on every worker), the
    loss per epoch seen by worker 0, and the epoch times."""

    world_size: int
    batch_size: int
    epochs: int
    params: dict[str, list]
    epoch_seconds: list[float]
    start_seconds: float
    workers_agree: bool

    def tensors(self) -> dict[str, torch.Tensor]:
        return {k: torch.tensor(v, dtype=torch.float32) for k, v in self.params.items()}


def _worker(rank, world_size, port, config, queue):
    """One worker process: join the group, train with DDP and a DistributedSampler, report."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size,
        timeout=timedelta(seconds=120),
    )  # fmt: skip
    try:
        if config.get("fail_rank") == rank:
            raise RuntimeError(f"worker {rank} failed on purpose (a test of clean-up)")
        data = quadratic_data(config["n"], seed=config["seed"])
        model = DistributedDataParallel(tutorial_mlp(seed=config["seed"]))
        sampler = DistributedSampler(TensorDataset(data.X, data.y), num_replicas=world_size, rank=rank,
                                     shuffle=True, seed=config["seed"])  # fmt: skip
        loader = DataLoader(
            TensorDataset(data.X, data.y), batch_size=config["batch_size"], sampler=sampler
        )
        optimizer = torch.optim.SGD(
            model.parameters(), lr=config["lr"], momentum=config["momentum"]
        )
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
            agree = all(torch.equal(g, flat) for g in gathered)
            params = {k.removeprefix("module."): v.tolist() for k, v in model.state_dict().items()}
            queue.put({"params": params, "epoch_seconds": seconds, "workers_agree": agree})
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_data_parallel(
    world_size: int = 2,
    *,
    n: int = 1000,
    batch_size: int = 32,
    epochs: int = 3,
    lr: float = 0.01,
    momentum: float = 0.0,
    seed: int = 0,
    fail_rank: int | None = None,
) -> ParallelRun:
    """Train the tutorial MLP on W worker processes with DDP and return the result.

    ``batch_size`` is per worker (the effective batch is W·b). A worker that raises stops the
    run: the others are terminated, every process is joined, and the error is re-raised here.
    """
    import torch.multiprocessing as mp

    world_size = check_int("world_size", world_size, low=1, high=16)
    n = check_int("n", n, low=world_size)
    batch_size = check_int("batch_size", batch_size, low=1, high=n // world_size)
    epochs = check_int("epochs", epochs, low=1)
    lr = check_float("lr", lr, low=0.0, low_open=True)
    momentum = check_float("momentum", momentum, low=0.0, high=1.0, high_open=True)
    config = dict(n=n, batch_size=batch_size, epochs=epochs, lr=lr, momentum=momentum, seed=seed,
                  fail_rank=fail_rank)  # fmt: skip
    ctx = mp.get_context("spawn")
    queue = ctx.SimpleQueue()
    start = time.perf_counter()
    context = mp.start_processes(
        _worker,
        args=(world_size, free_port(), config, queue),
        nprocs=world_size,
        join=False,
        start_method="spawn",
    )
    try:
        while not context.join(timeout=120):
            pass
    finally:
        for process in context.processes:
            if process.is_alive():
                process.terminate()
            process.join(timeout=30)
    result = queue.get()
    total = time.perf_counter() - start
    return ParallelRun(world_size, batch_size, epochs, result["params"], result["epoch_seconds"],
                       total - sum(result["epoch_seconds"]), result["workers_agree"])  # fmt: skip


def single_process_references(
    world_size: int, *, n: int = 1000, batch_size: int = 32, epochs: int = 3, lr: float = 0.01,
    momentum: float = 0.0, seed: int = 0,
) -> dict[str, dict[str, torch.Tensor]]:  # fmt: skip
    """The two one-process runs that W workers must equal, both through ``train()`` on the same
    global batches: one batch of W·b per update, and W accumulated micro-batches of b."""
    data = quadratic_data(n, seed=seed)
    order = lambda epoch: global_batches(n, world_size, batch_size, epoch - 1, seed=seed)  # noqa: E731
    results = {}
    for name, steps in (("one big batch", 1), ("accumulation", world_size)):
        model = tutorial_mlp(seed=seed)
        train(model, data, batch_size=world_size * batch_size, epochs=epochs, lr=lr, momentum=momentum,
              accumulation_steps=steps, batch_indices=order)  # fmt: skip
        results[name] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return results


def compare(run: ParallelRun, references: dict[str, dict[str, torch.Tensor]]) -> list[dict]:
    """Largest absolute parameter difference between the parallel run and each reference."""
    params = run.tensors()
    rows = []
    for name, ref in references.items():
        diff = max(float((params[k] - ref[k]).abs().max()) for k in ref)
        rows.append({"W": run.world_size, "compared with": name, "largest |difference|": diff,
                     "equal within 1e-6": diff <= 1e-6})  # fmt: skip
    return rows


def padding_report(n: int, world_size: int, *, seed: int = 0) -> dict:
    """What padding does when W does not divide N: duplicated samples per epoch."""
    shards = shard_indices(n, world_size, 0, seed=seed)
    flat = [i for shard in shards for i in shard]
    return {"N": n, "W": world_size, "per worker": len(shards[0]), "samples processed": len(flat),
            "duplicated": len(flat) - len(set(flat)), "missing": n - len(set(flat))}  # fmt: skip


def draw_shards(
    n: int, world_size: int, batch_size: int, *, epochs: int = 2, seed: int = 0, ax=None
):
    """Which worker and which batch each sample falls in, one row per (epoch, worker)."""
    from gdlessons.display.plots import new_axes  # imported here: worker processes never draw

    fig, ax = new_axes(ax, figsize=(7.5, 0.45 * epochs * world_size + 1.2))
    rows = []
    for epoch in range(epochs):
        for shard in shard_indices(n, world_size, epoch, seed=seed):
            row = np.full(n, np.nan)
            for j, i in enumerate(shard):
                row[i] = j // batch_size
            rows.append(row)
    ax.imshow(np.array(rows), aspect="auto", cmap="tab20", interpolation="nearest")
    labels = [f"epoch {e + 1}, worker {r}" for e in range(epochs) for r in range(world_size)]
    ax.set_yticks(range(len(labels)), labels)
    ax.grid(False)
    ax.set_xlabel("sample index (colour: the worker's batch it falls in; blank: another worker's)")
    ax.set_title(
        f"DistributedSampler: N={n} samples over W={world_size} workers, batch {batch_size} each"
    )
    return fig


def draw_epoch_times(runs: list[ParallelRun], *, ax=None):
    """Median seconds per epoch against the number of workers."""
    from gdlessons.display.plots import new_axes

    fig, ax = new_axes(ax)
    ws = [r.world_size for r in runs]
    secs = [float(np.median(r.epoch_seconds)) for r in runs]
    ax.bar([str(w) for w in ws], secs, color="tab:blue")
    for x, s in enumerate(secs):
        ax.annotate(f"{s:.2f} s", (x, s), ha="center", va="bottom", fontsize=9)
    ax.set_xlabel("workers (W), each with batch 32 (effective batch 32·W)")
    ax.set_ylabel("seconds per epoch (median)")
    ax.set_title("Time per epoch on this machine's CPU cores")
    return fig


def run_or_stored(
    world_sizes=(1, 2, 4), *, force_stored: bool = False, **config
) -> tuple[list[ParallelRun], str]:
    """Run each W for real; where processes cannot be started, fall back to the results stored
    with the package and say so. Returns the runs and where they came from."""
    if not force_stored:
        try:
            return [run_data_parallel(w, **config) for w in world_sizes], "measured now"
        except (OSError, RuntimeError, PermissionError) as exc:
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
    else:
        reason = "force_stored=True"
    stored = json.loads(STORED.read_text())
    runs = [ParallelRun(**r) for r in stored["runs"] if r["world_size"] in world_sizes]
    return (
        runs,
        f"stored results from {stored['when']} (could not start worker processes here: {reason})",
    )


def store_results(path: Path = STORED, **config) -> None:
    """Write the results that :func:`run_or_stored` falls back to (run by the maintainers)."""
    runs = [run_data_parallel(w, **config) for w in (1, 2, 4)]
    path.parent.mkdir(exist_ok=True)
    payload = {
        "when": time.strftime("%Y-%m-%d"),
        "config": config,
        "runs": [asdict(r) for r in runs],
    }
    path.write_text(json.dumps(payload) + "\n")


if (
    __name__ == "__main__"
):  # python -m gdlessons.chapters.ch09_data_parallel: refresh the stored results
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    store_results()


def shard_explorer():
    """Sliders for N, W and the per-worker batch: the shard picture and the counts redraw."""
    import ipywidgets as w

    from gdlessons.display.explorer import Explorer

    controls = {
        "n": w.IntSlider(value=48, min=8, max=120, description="samples N"),
        "world_size": w.IntSlider(value=2, min=1, max=6, description="workers W"),
        "batch_size": w.IntSlider(value=4, min=1, max=16, description="batch / worker"),
    }

    def draw(n, world_size, batch_size):
        return draw_shards(n, world_size, min(batch_size, -(-n // world_size)), epochs=2)

    def readout(n, world_size, batch_size):
        pad = padding_report(n, world_size)
        per_worker = pad["per worker"]
        steps = -(-per_worker // batch_size)
        return (
            f"effective batch W·b = {world_size * batch_size}; {per_worker} samples per worker per epoch; "
            f"{steps} updates per epoch; padded (repeated) samples: {pad['duplicated']}"
        )

    return Explorer(draw, controls, title="DistributedSampler explorer", readout=readout)


EXPLORERS = {"ch09-shard-explorer": shard_explorer}
