"""FAISS vectors keyed by chunk id: exact while small, IVF past a size threshold, GPU if present."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import faiss
import numpy as np

log = logging.getLogger(__name__)


def gpu_count() -> int:
    """GPUs FAISS can use: 0 with faiss-cpu or without CUDA."""
    get = getattr(faiss, "get_num_gpus", None)
    return int(get()) if get else 0


class VectorIndex:
    """Inner-product search over normalised vectors, addressed by int64 chunk ids.

    Small collections use an exact flat index; past `ivf_threshold` vectors the index is
    rebuilt as IVF (trained on a sample), which keeps search sub-linear at millions of chunks.
    Both kinds support removal by id, so deleted files never come back in results.
    """

    def __init__(self, index: faiss.Index, nprobe: int = 16):
        self._index = index
        self._searcher: faiss.Index | None = None
        self.nprobe = nprobe

    @classmethod
    def create(cls, dimension: int, nprobe: int = 16) -> VectorIndex:
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)), nprobe)

    @classmethod
    def load(cls, path: Path, nprobe: int = 16, mmap: bool = False) -> VectorIndex:
        flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap else 0
        return cls(faiss.read_index(str(path), flags), nprobe)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def kind(self) -> str:
        return "ivf" if self._ivf() is not None else "flat"

    def _ivf(self) -> faiss.IndexIVF | None:
        try:
            return faiss.extract_index_ivf(self._index)
        except RuntimeError:
            return None

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64)
            )
            self._searcher = None

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))
            self._searcher = None

    def ids(self) -> np.ndarray:
        if self.kind == "flat":
            return faiss.vector_to_array(faiss.downcast_index(self._index).id_map).astype(np.int64)
        ivf = self._ivf()
        invlists = ivf.invlists
        parts = [
            faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
            for i in range(ivf.nlist)
            if invlists.list_size(i)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    def maybe_switch_to_ivf(self, ivf_threshold: int, seed: int = 0) -> bool:
        """Rebuild a flat index as IVF once it holds more than `ivf_threshold` vectors."""
        if self.kind != "flat" or self.size <= ivf_threshold:
            return False
        ids = self.ids()
        flat = faiss.downcast_index(faiss.downcast_index(self._index).index)
        vectors = flat.reconstruct_n(0, self.size)
        # ~4 sqrt(n) lists (FAISS guidance), each with the >= 39 training points k-means needs
        nlist = max(1, min(int(4 * math.sqrt(len(ids))), len(ids) // 39))
        rng = np.random.default_rng(seed)
        sample = vectors[rng.choice(len(vectors), min(len(vectors), 64 * nlist), replace=False)]
        quantizer = faiss.IndexFlatIP(self.dimension)
        ivf = faiss.IndexIVFFlat(quantizer, self.dimension, nlist, faiss.METRIC_INNER_PRODUCT)
        log.info("training IVF index with %d lists on %d vectors", nlist, len(sample))
        ivf.train(sample)
        ivf.add_with_ids(vectors, ids)
        self._index = ivf
        self._searcher = None
        return True

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return (scores, ids), each (n_queries, k); missing hits have id -1."""
        k = max(1, min(k, max(self.size, 1)))
        return self._search_index().search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def _search_index(self) -> faiss.Index:
        if self._searcher is None:
            self._searcher = self._to_gpu_if_possible(self._index)
            ivf = faiss.try_extract_index_ivf(self._searcher)
            if ivf is not None:
                ivf.nprobe = self.nprobe
        return self._searcher

    @staticmethod
    def _to_gpu_if_possible(index: faiss.Index) -> faiss.Index:
        if gpu_count() == 0:
            return index
        try:
            gpu_index = faiss.index_cpu_to_all_gpus(index)
        except RuntimeError as exc:
            log.warning("FAISS index stays on the CPU: %s", exc)
            return index
        log.info("FAISS index moved to %d GPU(s)", gpu_count())
        return gpu_index
