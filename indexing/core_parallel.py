"""A small model's batches spread over the CPU's cores, each core running whole batches alone.

A batch is not all matrix products: tokenising it, Python between the operations and pooling
run on one core while the other waits, when both cores share each product of one batch.
With a batch per core, one core's serial work overlaps the other's products. On two
AVX-512-BF16 cores (where a MiniLM-sized bf16 product itself runs 1.9-2.0x faster on two
threads than on one), indexing ran 1.08-1.13x as fast (bench/indexing_vs_langchain.py) and
checking a five-sentence answer 1.14x (bench/rerank_check_latency.py). The pruner's ~40
sentences ran 0.82x: each half of the call cost 64% of the whole (bench/README.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
from tqdm import tqdm

from indexing.kernels import math_threads

T = TypeVar("T")


class CoreWorkers:
    """`workers` threads, each computing with `threads_each` of torch's threads."""

    batches_per_task = 4  # a call's own overhead spread over several batches

    def __init__(self, workers: int, threads_each: int = 1):
        if workers < 1 or threads_each < 1:
            raise ValueError(
                f"workers and threads_each must be >= 1, not {workers}, {threads_each}"
            )
        self.workers = workers
        self.threads_each = threads_each
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_model(cls, device: str, precision: str, workers: int | None) -> CoreWorkers:
        """`workers` (None: one per physical core for torch on a CPU; one on a GPU, and on
        OpenVINO, whose own requests take every core), the cores shared out among them."""
        if workers is None:
            workers = math_threads() if device == "cpu" and precision != "openvino" else 1
        return cls(workers, max(1, math_threads() // workers))

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = self._start()
            return self._pool

    def _start(self) -> ThreadPoolExecutor:
        """The worker threads, each holding its own thread count. torch.set_num_threads also
        sets the count that threads computing for the first time later take up (a web
        server's new request thread, or the main thread before its first forward pass: its
        attention then ran on one core), so the caller's count is set back once every worker
        holds its own."""
        import torch

        callers = torch.get_num_threads()
        pool = ThreadPoolExecutor(self.workers, "core-worker")
        # each worker waits for the others, so every task lands on a thread of its own
        everyone = threading.Barrier(self.workers)

        def hold_threads() -> None:
            torch.set_num_threads(self.threads_each)
            everyone.wait()

        for started in [pool.submit(hold_threads) for _ in range(self.workers)]:
            started.result()
        torch.set_num_threads(callers)
        return pool

    def map_batches(
        self,
        compute: Callable[[list[T]], Sequence[float] | np.ndarray],
        items: Sequence[T],
        batch_size: int,
        length: Callable[[T], int] = len,
        progress: bool = False,
        desc: str = "batches",
    ) -> np.ndarray:
        """`compute` over `items`, one output row per item in `items`' order, in the batches
        sentence-transformers would cut (longest first, `batch_size` each), `batches_per_task`
        to a call. With one worker, or items that fit one batch, the calls run here in the
        caller's thread. Otherwise the items are dealt longest first, in turn, to the workers'
        tasks, so the tasks of one round hold items of the same lengths and end together; a
        task that ended the run alone would leave the other cores idle."""
        if not items:
            raise ValueError("nothing to compute")
        order = sorted(range(len(items)), key=lambda i: -length(items[i]))
        span = batch_size * self.batches_per_task

        def run(task: list[int]) -> Sequence[float] | np.ndarray:
            return compute([items[i] for i in task])

        if self.workers == 1 or len(items) <= batch_size:
            tasks = [order[start : start + span] for start in range(0, len(order), span)]
            results = map(run, tasks)
        else:
            span *= self.workers
            dealt = (
                order[start + k : start + span : self.workers]
                for start in range(0, len(order), span)
                for k in range(self.workers)
            )
            tasks = [task for task in dealt if task]
            results = self._executor().map(run, tasks)
        rows = np.empty(0)
        with tqdm(total=len(items), desc=desc, disable=not progress) as bar:
            for task, result in zip(tasks, results, strict=True):
                computed = np.asarray(result)
                if not rows.size:
                    rows = np.empty((len(items), *computed.shape[1:]), dtype=computed.dtype)
                rows[task] = computed
                bar.update(len(task))
        return rows
