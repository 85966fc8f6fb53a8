"""Shared by the bench scripts: the data they run on and how they print and time things."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.eval.datasets import BeirDataset, QASet, data_root, load_squad
from app.eval.indexes import ensure_index, write_corpus
from app.eval.report import format_table, machine
from app.settings import Settings

if TYPE_CHECKING:
    from app.qa import QA


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("faiss.loader", "sentence_transformers", "transformers", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def scifact() -> BeirDataset:
    return BeirDataset.load(data_root() / "scifact")


def squad_qa(settings: Settings) -> tuple[QASet, QA]:
    """SQuAD dev, and `QA` over the eval's cached index of its paragraphs (built if missing)."""
    from app.qa import QA  # the models' imports: only for the benches that answer questions

    squad = load_squad(data_root() / "squad-v1.1" / "dev-v1.1.json")
    corpus = write_corpus(squad.name, squad.passages)
    root = ensure_index(corpus.parent.name.removesuffix("-corpus"), [corpus], settings)
    return squad, QA(settings.model_copy(update={"index": root}))


def corpus_rows(data: BeirDataset, limit: int | None = None) -> list[dict[str, str]]:
    """Corpus documents in file order ({"_id", "title", "text"})."""
    rows = []
    with data.corpus.open() as handle:
        for line in handle:
            rows.append(json.loads(line))
            if limit is not None and len(rows) >= limit:
                break
    return rows


def judged_slice(data: BeirDataset, size: int) -> list[dict[str, str]]:
    """Every judged document plus the first others up to `size`: all test queries answerable."""
    judged = {d for docs in data.qrels.values() for d in docs}
    rows = corpus_rows(data)
    keep = [r for r in rows if r["_id"] in judged]
    keep += [r for r in rows if r["_id"] not in judged][: max(0, size - len(keep))]
    return keep


def judged_corpus(size: int) -> tuple[BeirDataset, list[dict[str, str]], list[str]]:
    """SciFact, its judged slice and the slice's texts as the embedder reads them."""
    data = scifact()
    rows = judged_slice(data, size)
    return data, rows, [f"{r['title']}\n{r['text']}" for r in rows]


def dense_ndcg(
    data: BeirDataset, rows: Sequence[dict[str, str]], docs: np.ndarray, queries: np.ndarray
) -> float:
    """nDCG@10 of exact inner-product search over `docs` (the vectors of `rows`) for
    `queries` (the vectors of the data set's queries in id order)."""
    from app.eval.metrics import ir_scores, ranked_to_run

    qids = sorted(data.queries, key=int)
    top = np.argsort(-(np.asarray(queries) @ np.asarray(docs).T), axis=1)[:, :100]
    run = {
        q: ranked_to_run(rows[i]["_id"] for i in ranks) for q, ranks in zip(qids, top, strict=True)
    }
    return ir_scores(data.qrels, run, ("nDCG@10",))["nDCG@10"]


ONNX_INT8_FILE = "model_quint8_avx2.onnx"  # what sentence-transformers' "avx2" config writes


def onnx_fp32_and_int8(model_class: type, folder: Path, **kwargs: object) -> tuple[object, object]:
    """sentence-transformers' ONNX export of `folder`, and its dynamic int8 quantisation.

    For SentenceTransformer and CrossEncoder alike; needs optimum-onnx (see the ONNX benches).
    """
    from sentence_transformers.backend import export_dynamic_quantized_onnx_model

    onnx = model_class(str(folder), backend="onnx", device="cpu", **kwargs)  # exports on load
    onnx.save_pretrained(str(folder))
    export_dynamic_quantized_onnx_model(onnx, "avx2", str(folder))
    int8 = model_class(
        str(folder),
        backend="onnx",
        device="cpu",
        model_kwargs={"file_name": f"onnx/{ONNX_INT8_FILE}"},
        **kwargs,
    )
    return onnx, int8


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def percentiles_ms(seconds: Sequence[float]) -> tuple[float, float]:
    return float(np.percentile(seconds, 50) * 1000), float(np.percentile(seconds, 95) * 1000)


def memoised(
    score: Callable[[str, list[str]], Sequence[float]],
) -> tuple[Callable[[str, list[str]], list[float]], list[float]]:
    """A sentence scorer that scores each (question, sentence) once across a bench's settings,
    and the seconds each question's scoring took."""
    cache: dict[tuple[str, str], float] = {}
    seconds: list[float] = []

    def cached(question: str, texts: list[str]) -> list[float]:
        missing = [t for t in dict.fromkeys(texts) if (question, t) not in cache]
        if missing:
            begun = time.perf_counter()
            scores = score(question, missing)
            cache.update(zip(((question, t) for t in missing), scores, strict=True))
            seconds.append(time.perf_counter() - begun)
        return [cache[(question, t)] for t in texts]

    return cached, seconds


def print_result(title: str, rows: list[dict[str, object]], ratios: dict[str, float]) -> None:
    """The bench's output: a table, then the ratios it exists to measure."""
    print(f"\n## {title}\n{machine()}\n")
    print(format_table(rows))
    print()
    for name, value in ratios.items():
        print(f"ratio {name}: {value:.2f}x")


def write_jsonl(path: Path, rows: Sequence[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
