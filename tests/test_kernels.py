"""The one kernel rule, and what it changes in the small models' output."""

import numpy as np
import pytest

from indexing.embedding import Embedder
from indexing.kernels import BF16_FLAGS, best_precision, cpu_flags

SENTENCES = [
    "The Tarnvik glacier retreated 212 metres between 2001 and 2021.",
    "How far did the glacier retreat?",
    "A healthy bee colony produces about 31 kilograms of honey each summer.",
    "Python's venv module creates lightweight virtual environments.",
]


def test_the_rule_follows_the_device_the_flags_and_the_setting() -> None:
    assert best_precision("cuda:0") == "float16"
    assert best_precision("cpu", "float32") == "float32"
    expected = "bfloat16" if BF16_FLAGS & cpu_flags() else "float32"
    assert best_precision("cpu") == expected
    assert Embedder("all-MiniLM-L6-v2", device="cpu").precision == expected


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_embeddings_in_either_format_are_unit_float32_vectors(dtype: str) -> None:
    vectors = Embedder("all-MiniLM-L6-v2", device="cpu", dtype=dtype).embed_passages(SENTENCES)
    assert vectors.dtype == np.float32 and vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


def test_bf16_embeddings_point_where_fp32_ones_do() -> None:
    full = Embedder("all-MiniLM-L6-v2", device="cpu", dtype="float32").embed_passages(SENTENCES)
    half = Embedder("all-MiniLM-L6-v2", device="cpu", dtype="bfloat16").embed_passages(SENTENCES)
    assert np.min(np.sum(full * half, axis=1)) >= 0.99
    # the question is still closest to the sentence that answers it
    assert int(np.argmax(half @ half[1])) == 1 and int(np.argsort(half @ half[1])[-2]) == 0


def test_the_reranker_in_bf16_orders_passages_as_in_fp32() -> None:
    from retrieval.rerank import Reranker

    passages = [SENTENCES[3], SENTENCES[2], SENTENCES[0]]
    scores = {
        dtype: Reranker("minigiant-reranker", "cpu", dtype=dtype).score(SENTENCES[1], passages)
        for dtype in ("float32", "bfloat16")
    }
    assert int(np.argmax(scores["bfloat16"])) == int(np.argmax(scores["float32"])) == 2
    assert np.max(np.abs(np.subtract(scores["bfloat16"], scores["float32"]))) < 0.05
