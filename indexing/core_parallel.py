"""A small model's batches spread over the CPU's cores, each core running whole batches alone.

A 384-wide encoder's matrix products are too small for two threads to share one without
waiting on each other: on two AVX-512-BF16 cores, indexing with each core embedding its own
batches in one thread ran 1.13x as fast as with both splitting every product of one batch
(bench/indexing_vs_langchain.py), and checking a five-sentence answer 1.14x
(bench/rerank_check_latency.py). Not for the pruner's short sentences, which ran 0.82x
(bench/README.md). torch's thread count is per thread (OpenMP), so the workers' setting
leaves the caller's own as it was.
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
                self._pool = ThreadPoolExecutor(
                    self.workers, "core-worker", initializer=self._set_threads
                )
            return self._pool

    def _set_threads(self) -> None:
        import torch

        torch.set_num_threads(self.threads_each)

    def map_batches(
        self,
        compute: Callable[[list[T]], Sequence[float] | np.ndarray],
        items: Sequence[T],
        batch_size: int,
        length: Callable[[T], int] = len,
        progress: bool = False,
        desc: str = "batches",
    ) -> np.ndarray:
        """`compute` over `items`, one output row per item in `items`' order. Longest first,
        the items are dealt in turn to the workers' tasks, `batches_per_task` batches each,
        so the workers' tasks of one round hold items of the same lengths and end together; a
        task that ended the run alone would leave the other cores idle."""
        if not items:
            raise ValueError("nothing to compute")
        order = sorted(range(len(items)), key=lambda i: -length(items[i]))
        span = self.workers * batch_size * self.batches_per_task
        tasks = [
            order[start + k : start + span : self.workers]
            for start in range(0, len(order), span)
            for k in range(self.workers)
        ]
        tasks = [task for task in tasks if task]
        results = self._executor().map(lambda task: compute([items[i] for i in task]), tasks)
        rows = np.empty(0)
        with tqdm(total=len(items), desc=desc, disable=not progress) as bar:
            for task, result in zip(tasks, results, strict=True):
                computed = np.asarray(result)
                if not rows.size:
                    rows = np.empty((len(items), *computed.shape[1:]), dtype=computed.dtype)
                rows[task] = computed
                bar.update(len(task))
        return rows
