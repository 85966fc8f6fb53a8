"""GPU code paths: run only where CUDA is present (never in CI); skipped elsewhere."""

import faiss
import numpy as np
import pytest
import torch

from indexing.embedding import Embedder
from indexing.vectors import VectorIndex, gpu_count

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
TEXTS = ["The glacier retreated 212 metres.", "Bees make linden honey.", "A telescope was donated."]


@needs_cuda
def test_fp16_gpu_embeddings_match_cpu() -> None:
    gpu = Embedder("all-MiniLM-L6-v2", device="cuda").embed_passages(TEXTS)
    cpu = Embedder("all-MiniLM-L6-v2", device="cpu").embed_passages(TEXTS)
    assert (gpu * cpu).sum(axis=1).min() > 0.99


@pytest.mark.skipif(gpu_count() == 0, reason="faiss without GPU support, or no GPU")
def test_faiss_gpu_search_matches_cpu() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((5000, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex.create(64)
    index.add(np.arange(5000), vectors)
    _, gpu_ids = index.search(vectors[:20], 5)  # searched on the GPU when faiss has one
    exact = faiss.IndexFlatIP(64)
    exact.add(vectors)
    assert (gpu_ids[:, 0] == exact.search(vectors[:20], 5)[1][:, 0]).all()
