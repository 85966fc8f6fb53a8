"""Indexing throughput: our builder vs LangChain's FAISS.from_documents, same embedder and chunks.

LangChain gets the very chunk texts our chunker cut, so both embed the same tokens; ours also
loads the file, chunks it and writes SQLite + FTS5, which LangChain does not do. LangChain runs
as its recipe is written (HuggingFaceEmbeddings' default batch of 32 texts), and once more
with our batch size, so the table shows what the batch size alone is worth to it. Ours runs
once more with one batch at a time over all cores (`embedder.workers = 1`), which shows what
computing batches side by side, one per core, buys. They alternate for --rounds rounds,
taking turns at going first; each one's fastest run counts.

    python bench/indexing_vs_langchain.py --docs 300
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path

from common import corpus_rows, print_result, scifact, setup_logging, timed, write_jsonl

from indexing.builder import BuildOptions, IndexBuilder
from indexing.documents import titled
from indexing.embedding import Embedder
from indexing.index_dir import IndexDir
from indexing.loaders import load_file
from indexing.models import resolve_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs; best counts")
    args = parser.parse_args()
    setup_logging()
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document as LCDocument
    from langchain_huggingface import HuggingFaceEmbeddings

    with tempfile.TemporaryDirectory() as tmp:
        corpus = write_jsonl(Path(tmp) / "corpus.jsonl", corpus_rows(scifact(), args.docs))
        embedder = Embedder("all-MiniLM-L6-v2", device="cpu")
        one_at_a_time = Embedder("all-MiniLM-L6-v2", device="cpu", workers=1)
        builder = IndexBuilder(IndexDir(Path(tmp) / "idx"), embedder, BuildOptions(progress=False))
        chunks = [c for d in load_file(corpus) for c in builder.chunker.split(d)]
        texts = [titled(c.title, c.text) for c in chunks]
        recipe, batched = (
            HuggingFaceEmbeddings(
                model_name=resolve_model("all-MiniLM-L6-v2", "bench"),
                model_kwargs={"device": "cpu"},
                encode_kwargs={"normalize_embeddings": True, **extra},
            )
            for extra in ({}, {"batch_size": embedder.batch_size})
        )
        embedder.embed_passages(texts[:64])  # warm the models up: load time is not indexing
        recipe.embed_documents(texts[:64])
        batched.embed_documents(texts[:64])

        builds = itertools.count()

        def ours(embedder: Embedder) -> tuple[object, float]:
            fresh = IndexBuilder(
                IndexDir(Path(tmp) / f"idx{next(builds)}"), embedder, BuildOptions(progress=False)
            )
            return timed(lambda: fresh.run([corpus]))

        def langchain(embeddings) -> tuple[None, float]:
            docs = [LCDocument(page_content=t) for t in texts]
            return None, timed(lambda: FAISS.from_documents(docs, embeddings))[1]

        contenders = {
            f"minigiant IndexBuilder (load+chunk+embed+FAISS+FTS5), {embedder.workers} batches "
            "side by side": lambda: ours(embedder),
            "LangChain FAISS.from_documents + HuggingFaceEmbeddings, its recipe (batch 32)": (
                lambda: langchain(recipe)
            ),
            f"LangChain, the same with batch {embedder.batch_size} as ours": (
                lambda: langchain(batched)
            ),
            "minigiant IndexBuilder, one batch at a time": lambda: ours(one_at_a_time),
        }
        runs: dict[str, list[tuple[object, float]]] = {name: [] for name in contenders}
        for round_ in range(args.rounds):  # who goes first alternates
            names = list(contenders) if round_ % 2 == 0 else list(contenders)[::-1]
            for name in names:
                runs[name].append(contenders[name]())
        best = {name: min(results, key=lambda r: r[1]) for name, results in runs.items()}
    ours_s, theirs_s, batched_s, serial_s = (best[name][1] for name in contenders)
    rows = [
        {
            "pipeline": name,
            "chunks": len(texts),
            "seconds": seconds,
            "embedding s": result.embed_seconds if result is not None else None,
            "chunks/s": len(texts) / seconds,
        }
        for name, (result, seconds) in best.items()
    ]
    print_result(
        f"Indexing {args.docs} SciFact abstracts, all-MiniLM-L6-v2 on CPU",
        rows,
        {
            "minigiant / LangChain throughput": theirs_s / ours_s,
            "minigiant / LangChain with our batch size": batched_s / ours_s,
            "batches side by side / one at a time": serial_s / ours_s,
        },
    )


if __name__ == "__main__":
    main()
