"""FAISS vectors keyed by chunk id: exact while small, IVF past a size threshold, GPU if present."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import faiss
import numpy as np

from indexing.errors import MinigiantError

log = logging.getLogger(__name__)

# PQ codebooks have 256 centroids per sub-vector; k-means wants ~40 points per centroid
_PQ_MIN_VECTORS = 40 * 256


def gpu_count() -> int:
    """GPUs FAISS can use: 0 with faiss-cpu or without CUDA."""
    get = getattr(faiss, "get_num_gpus", None)
    return int(get()) if get else 0


class VectorIndex:
    """Inner-product search over normalised vectors, addressed by int64 chunk ids.

    Small collections use an exact flat index of float16 vectors: half the memory of float32,
    a single query over 100k of them 3.5x faster here, the same top 10 (bench/README.md).
    Past `ivf_threshold` vectors the index is rebuilt as IVF (trained on a sample, float16
    lists too), which keeps search sub-linear at millions of chunks.
    With `pq_bytes` the IVF lists hold product-quantised codes of that many bytes instead
    (384 dims: 768 -> 48 bytes), trading some recall for memory. All kinds
    support removal by id, so deleted files never come back in results.
    """

    def __init__(self, index: faiss.Index, nprobe: int = 16):
        self._index = index
        self._searcher: faiss.Index | None = None
        self.nprobe = nprobe

    @classmethod
    def create(cls, dimension: int, nprobe: int = 16) -> VectorIndex:
        flat = faiss.IndexScalarQuantizer(
            dimension, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
        return cls(faiss.IndexIDMap2(flat), nprobe)

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
        ivf = self._ivf()
        if ivf is None:
            return "flat"
        return "ivfpq" if isinstance(faiss.downcast_index(ivf), faiss.IndexIVFPQ) else "ivf"

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
        if self._ivf() is None:
            return _id_map(self._index)
        ivf = self._ivf()
        invlists = ivf.invlists
        parts = [
            faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
            for i in range(ivf.nlist)
            if invlists.list_size(i)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    def maybe_switch_to_ivf(self, ivf_threshold: int, pq_bytes: int = 0, seed: int = 0) -> bool:
        """Rebuild a flat index as IVF (IVF-PQ with `pq_bytes` > 0) past `ivf_threshold`."""
        if self._ivf() is not None or self.size <= ivf_threshold:
            return False
        if pq_bytes and self.dimension % pq_bytes:
            raise MinigiantError(
                f"indexing.pq_bytes={pq_bytes} must divide the embedding dimension "
                f"{self.dimension}: try {_divisor_near(self.dimension, pq_bytes)}, or 0 for off"
            )
        if pq_bytes and self.size < _PQ_MIN_VECTORS:
            log.info("too few vectors (%d) to train PQ codebooks: plain IVF", self.size)
            pq_bytes = 0
        ids = self.ids()
        flat = faiss.downcast_index(faiss.downcast_index(self._index).index)
        vectors = flat.reconstruct_n(0, self.size)
        # 2 sqrt(n) lists, each trained on 64 points (k-means wants >= 39): the low end of FAISS's
        # 1-16 sqrt(n) guidance, as training costs ~nlist^2 (1M chunks: ~1 min on 2 CPU cores)
        # and nprobe=16 still scans under 1% of a million vectors
        nlist = max(1, min(int(2 * math.sqrt(len(ids))), len(ids) // 39))
        wanted = max(64 * nlist, _PQ_MIN_VECTORS if pq_bytes else 0)
        rng = np.random.default_rng(seed)
        sample = vectors[rng.choice(len(vectors), min(len(vectors), wanted), replace=False)]
        quantizer = faiss.IndexFlatIP(self.dimension)
        if pq_bytes:
            ivf = faiss.IndexIVFPQ(
                quantizer, self.dimension, nlist, pq_bytes, 8, faiss.METRIC_INNER_PRODUCT
            )
        else:  # float16 lists, as the flat index keeps them
            ivf = faiss.IndexIVFScalarQuantizer(
                quantizer,
                self.dimension,
                nlist,
                faiss.ScalarQuantizer.QT_fp16,
                faiss.METRIC_INNER_PRODUCT,
            )
        log.info("training %s index with %d lists on %d vectors", _name(ivf), nlist, len(sample))
        ivf.train(sample)
        del flat
        self._index = self._searcher = None  # free the flat copy before IVF fills: lower peak
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
        index = _float_flat(index)  # FAISS's GPU cloner knows flat indexes, not scalar-quantised
        try:
            options = faiss.GpuMultipleClonerOptions()
            options.shard = True  # several GPUs split the vectors instead of each holding all
            options.useFloat16 = True
            gpu_index = faiss.index_cpu_to_all_gpus(index, co=options)
        except RuntimeError as exc:
            log.warning("FAISS index stays on the CPU: %s", exc)
            return index
        log.info("FAISS index moved to %d GPU(s)", gpu_count())
        return gpu_index


def _float_flat(index: faiss.Index) -> faiss.Index:
    """A float16 flat index as an equivalent float32 one; any other index unchanged."""
    if not isinstance(index, faiss.IndexIDMap2):
        return index
    inner = faiss.downcast_index(faiss.downcast_index(index).index)
    if not isinstance(inner, faiss.IndexScalarQuantizer):
        return index
    flat = faiss.IndexIDMap2(faiss.IndexFlatIP(inner.d))
    if inner.ntotal:
        flat.add_with_ids(inner.reconstruct_n(0, inner.ntotal), _id_map(index))
    return flat


def _id_map(index: faiss.Index) -> np.ndarray:
    return faiss.vector_to_array(faiss.downcast_index(index).id_map).astype(np.int64)


def _name(index: faiss.Index) -> str:
    return "IVF-PQ" if isinstance(index, faiss.IndexIVFPQ) else "IVF"


def _divisor_near(dimension: int, wanted: int) -> int:
    return min(
        (d for d in range(1, dimension + 1) if dimension % d == 0), key=lambda d: abs(d - wanted)
    )
