"""Indexing throughput: our builder vs LangChain's FAISS.from_documents, same embedder and chunks.

LangChain gets the very chunk texts our chunker cut, so both embed the same tokens; ours also
loads the file, chunks it and writes SQLite + FTS5, which LangChain does not do. The two
alternate for --rounds rounds, taking turns at going first; each side's fastest run counts.

    python bench/indexing_vs_langchain.py --docs 300
"""

from __future__ import annotations

import argparse
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
        builder = IndexBuilder(IndexDir(Path(tmp) / "idx"), embedder, BuildOptions(progress=False))
        chunks = [c for d in load_file(corpus) for c in builder.chunker.split(d)]
        texts = [titled(c.title, c.text) for c in chunks]
        lc_embeddings = HuggingFaceEmbeddings(
            model_name=resolve_model("all-MiniLM-L6-v2", "bench"),
            model_kwargs={"device": "cpu"},
            encode_kwargs={"normalize_embeddings": True, "batch_size": embedder.batch_size},
        )
        embedder.embed_passages(texts[:64])  # warm both models up: load time is not indexing
        lc_embeddings.embed_documents(texts[:64])

        def ours(round_: int) -> tuple[object, float]:
            fresh = IndexBuilder(
                IndexDir(Path(tmp) / f"idx{round_}"), embedder, BuildOptions(progress=False)
            )
            return timed(lambda: fresh.run([corpus]))

        def theirs() -> float:
            return timed(
                lambda: FAISS.from_documents(
                    [LCDocument(page_content=t) for t in texts], lc_embeddings
                )
            )[1]

        ours_runs, theirs_runs = [], []
        for round_ in range(args.rounds):  # who goes first alternates
            if round_ % 2:
                theirs_runs.append(theirs())
            ours_runs.append(ours(round_))
            if not round_ % 2:
                theirs_runs.append(theirs())
        report, ours = min(ours_runs, key=lambda r: r[1])
        theirs = min(theirs_runs)
    rows = [
        {
            "pipeline": "minigiant IndexBuilder (load+chunk+embed+FAISS+FTS5)",
            "chunks": report.chunks_added,
            "seconds": ours,
            "embedding s": report.embed_seconds,
            "chunks/s": report.chunks_added / ours,
        },
        {
            "pipeline": "LangChain FAISS.from_documents + HuggingFaceEmbeddings",
            "chunks": len(texts),
            "seconds": theirs,
            "embedding s": None,
            "chunks/s": len(texts) / theirs,
        },
    ]
    print_result(
        f"Indexing {args.docs} SciFact abstracts, all-MiniLM-L6-v2 on CPU",
        rows,
        {"minigiant / LangChain throughput": theirs / ours},
    )


if __name__ == "__main__":
    main()
