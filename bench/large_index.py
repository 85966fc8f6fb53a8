"""Large indexes: build time, disk, resident memory and query latency at 100k and 1M chunks.

Chunks are the real SciFact chunks of the cached eval index (`minigiant eval` builds it; this
script builds it if missing), repeated with new document ids until the wanted count. Each
copy's vectors are the real embeddings plus small Gaussian noise (then normalised), so the
vectors cluster like real ones without embedding a million chunks on a laptop CPU. Rows go
through the real ChunkStore (bulk inserts, FTS5 triggers) and VectorIndex, as a build would.

The flat index is saved, then rebuilt as IVF and IVF-PQ (`indexing.pq_bytes`). Each
(index, mmap) pair is queried in a fresh process, so its resident memory is its own:
anonymous (heap) and file-backed (mmapped pages) are reported apart. Queries are the first
SciFact claims, embedded once up front; latency covers search only, not query embedding.

    python bench/large_index.py --sizes 100000 1000000 --queries 30
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
from common import print_result, scifact, setup_logging
from tqdm import tqdm

from app.eval.indexes import ensure_index, index_path
from app.settings import Settings
from indexing.documents import Chunk, Document
from indexing.embedding import Embedder
from indexing.index_dir import SQLITE_NAME, IndexDir
from indexing.reader import IndexReader
from indexing.store import ChunkStore, FileRecord
from indexing.vectors import VectorIndex
from retrieval.fusion import reciprocal_rank_fusion
from retrieval.hybrid import RetrievalOptions
from retrieval.lexical import LexicalRetriever

NOISE = 0.01  # per dimension; cosine to the original vector stays about 0.98
PQ_BYTES = 48
KINDS = {"flat": None, "ivf": 0, "ivfpq": PQ_BYTES}  # kind -> pq_bytes of the IVF rebuild


def source_chunks() -> tuple[list[tuple[Document, list[Chunk]]], np.ndarray]:
    """SciFact documents with their chunks, and the chunks' real vectors in the same order."""
    settings = Settings()
    root = index_path("scifact", settings)
    if not IndexDir(root).exists():  # reading the cache needs no lock; building it does
        ensure_index("scifact", [scifact().corpus], settings)
    reader = IndexReader.open(root)
    index = faiss.read_index(str(reader.version.faiss_path))
    rows = reader.store.db.execute(
        "SELECT d.uri, d.title, d.text, c.id, c.ordinal, c.title, c.text, c.start, c.end "
        "FROM documents d JOIN chunks c ON c.doc_id = d.id ORDER BY d.id, c.ordinal"
    ).fetchall()
    documents: dict[str, tuple[Document, list[Chunk]]] = {}
    for uri, title, text, _, ordinal, c_title, c_text, start, end in rows:
        entry = documents.setdefault(uri, (Document(uri, uri, title, text), []))
        entry[1].append(Chunk(uri, ordinal, c_title, c_text, start, end))
    vectors = np.stack([index.reconstruct(int(row[3])) for row in rows])
    reader.close()
    return list(documents.values()), vectors


def build(root: Path, size: int, source: list[tuple[Document, list[Chunk]]], base: np.ndarray):
    """Write `size` chunks (copies of the source) as a published index; returns timings."""
    rng = np.random.default_rng(0)
    sqlite_s = faiss_s = 0.0
    added = 0
    with IndexDir(root).writer() as staging:
        store = ChunkStore(staging / SQLITE_NAME)
        vectors = VectorIndex.create(base.shape[1])
        with tqdm(total=size, desc=f"build {size}", unit="chunk") as bar:
            copy = 0
            while added < size:
                files, offset = _copy(copy, source, size - added)
                started = time.perf_counter()
                with store.db.conn:
                    ids = store.add_files(files)
                sqlite_s += time.perf_counter() - started
                block = base[:offset] + rng.normal(0, NOISE, (offset, base.shape[1]))
                block /= np.linalg.norm(block, axis=1, keepdims=True)
                started = time.perf_counter()
                vectors.add(np.asarray(ids, dtype=np.int64), block.astype(np.float32))
                faiss_s += time.perf_counter() - started
                added += len(ids)
                copy += 1
                bar.update(len(ids))
        with store.db.conn:
            store.set_meta({"embedder": "all-MiniLM-L6-v2", "dimension": base.shape[1]})
        store.close()
        vectors.save(staging / "faiss.index")
    return {"sqlite_s": sqlite_s, "faiss_add_s": faiss_s}


def _copy(copy: int, source: list[tuple[Document, list[Chunk]]], room: int):
    """One file's worth of documents (copy `copy` of the source), cut to `room` chunks."""
    path = f"/synthetic/scifact-copy-{copy}.jsonl"
    documents, chunks, count = [], [], 0
    for doc, doc_chunks in source:
        if count == room:
            break
        kept = doc_chunks[: room - count]  # the last document may lose its tail
        documents.append(Document(f"{doc.uri}~{copy}", path, doc.title, doc.text))
        chunks.append(kept)
        count += len(kept)
    return [(FileRecord(path, "-", 0), documents, chunks)], count


def rebuild_as(root: Path, kind: str) -> tuple[Path, float]:
    """Save the published flat index rebuilt as `kind`; returns its path and build seconds."""
    version = IndexDir(root).current()
    if KINDS[kind] is None:
        return version.faiss_path, 0.0
    vectors = VectorIndex.load(version.faiss_path)
    started = time.perf_counter()
    vectors.maybe_switch_to_ivf(0, pq_bytes=KINDS[kind])
    seconds = time.perf_counter() - started
    path = root / f"faiss-{kind}.index"
    vectors.save(path)
    return path, seconds


def query_child(
    root: Path, faiss_path: Path, queries: Path, mmap: bool, lexical: bool
) -> dict[str, object]:
    """Open one index variant in a fresh process and time queries there."""
    cmd = [sys.executable, __file__, "--child", str(root), str(faiss_path), str(queries)]
    cmd += (["--mmap"] if mmap else []) + (["--lexical"] if lexical else [])
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def child(root: Path, faiss_path: Path, queries_path: Path, mmap: bool, with_lexical: bool) -> None:
    """Runs in the fresh process: open, measure memory, run the queries, print JSON.

    Lexical and hybrid stages do not depend on the FAISS variant and are slow at 1M chunks,
    so they run in one child per scale (`with_lexical`).
    """
    data = np.load(queries_path)
    texts, qvecs = [str(t) for t in data["texts"]], data["vectors"]
    before = _rss_mib()
    version = IndexDir(root).current()
    store = ChunkStore(version.sqlite_path, readonly=True)
    vectors = VectorIndex.load(faiss_path, mmap=mmap)
    options = RetrievalOptions()
    lexical = LexicalRetriever(store, options.lexical_common_share, options.lexical_common_rows)
    every_term = LexicalRetriever(store)  # the baseline: common words read too
    opened = _rss_mib()

    def hybrid(i: int) -> object:
        dense = [int(x) for x in vectors.search(qvecs[i : i + 1], 50)[1][0] if x >= 0]
        lex = [c for c, _ in lexical.search(texts[i], 50)]
        fused = reciprocal_rank_fusion({"dense": dense, "lexical": lex}, 60)[:5]
        return store.chunks(c for c, _ in fused)

    stages = {"dense": lambda i: vectors.search(qvecs[i : i + 1], 50)}
    if with_lexical:
        stages |= {
            "lexical": lambda i: lexical.search(texts[i], 50),
            "lexical, every term": lambda i: every_term.search(texts[i], 50),
            "hybrid": hybrid,
        }
    seconds: dict[str, list[float]] = {name: [] for name in stages}
    for name, fn in stages.items():
        fn(0)  # warm-up: first search builds the searcher
        for i in range(len(texts)):
            started = time.perf_counter()
            fn(i)
            seconds[name].append(time.perf_counter() - started)
    top10 = vectors.search(qvecs, 10)[1].tolist()
    out = {
        "kind": vectors.kind,
        "size": vectors.size,
        "rss_before": before,
        "rss_open": opened,
        "rss_after": _rss_mib(),
        "ms": {
            k: [float(np.percentile(v, p) * 1000) for p in (50, 95)] for k, v in seconds.items()
        },
        "top10": top10,
    }
    print(json.dumps(out))


def _rss_mib() -> dict[str, float]:
    """Resident memory split into heap (anonymous) and mapped-file pages, in MiB."""
    status = Path("/proc/self/status").read_text().splitlines()
    fields = {line.split(":")[0]: line.split()[1] for line in status if line.startswith("Rss")}
    return {"anon": int(fields["RssAnon"]) / 1024, "file": int(fields["RssFile"]) / 1024}


def recall(top10: list[list[int]], exact: list[list[int]], copies_of: int = 0) -> float:
    """Share of the exact top-10 found; with `copies_of`, counted per original SciFact chunk.

    Copies of one chunk differ only by noise, so an approximate index may return other
    copies of the right chunks: per-original recall says whether it found the right text.
    Ids are assigned in build order from 1, so a chunk's original is (id - 1) % copies_of.
    """

    def key(ids: list[int]) -> set[int]:
        return {(i - 1) % copies_of for i in ids} if copies_of else set(ids)

    pairs = zip(top10, exact, strict=True)
    return float(np.mean([len(key(a) & key(b)) / len(key(b)) for a, b in pairs]))


def scale_point(size: int, source, base: np.ndarray, queries: Path, tmp: Path) -> tuple[list, list]:
    root = tmp / f"idx-{size}"
    started = time.perf_counter()
    timings = build(root, size, source, base)
    build_s = time.perf_counter() - started
    sqlite_bytes = IndexDir(root).current().sqlite_path.stat().st_size
    build_rows, query_rows, exact = [], [], None
    for kind in KINDS:
        path, rebuild_s = rebuild_as(root, kind)
        build_rows.append(
            {
                "chunks": size,
                "index": kind,
                "build s": build_s + rebuild_s,
                "chunks/s": size / (build_s + rebuild_s),
                "sqlite+fts5 s": timings["sqlite_s"],
                "ivf train+add s": rebuild_s,
                "sqlite GiB": sqlite_bytes / 2**30,
                "faiss MiB": path.stat().st_size / 2**20,
                "peak build RSS GiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
            }
        )
        for mmap in (False, True):
            result = query_child(root, path, queries, mmap, lexical=kind == "ivf" and not mmap)
            exact = exact or result["top10"]
            grown = {k: result["rss_after"][k] - result["rss_before"][k] for k in ("anon", "file")}
            query_rows.append(
                {
                    "chunks": size,
                    "index": result["kind"],
                    "mmap": mmap,
                    "index RSS anon MiB": grown["anon"],
                    "index RSS file MiB": grown["file"],
                    "RSS GiB per 1M chunks": (grown["anon"] + grown["file"]) * 1e6 / size / 1024,
                    **{
                        f"{stage} p50/p95 ms": f"{p50:.1f} / {p95:.1f}"
                        for stage, (p50, p95) in result["ms"].items()
                    },
                    "recall@10 vs flat": recall(result["top10"], exact),
                    "same-text recall@10": recall(result["top10"], exact, len(base)),
                }
            )
    return build_rows, query_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--child", nargs=3, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mmap", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--lexical", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, mmap=args.mmap, with_lexical=args.lexical)
        return
    setup_logging()
    source, base = source_chunks()
    texts = list(scifact().queries.values())[: args.queries]
    with tempfile.TemporaryDirectory(prefix="large-index-") as tmp:
        queries = Path(tmp) / "queries.npz"
        embedder = Embedder.from_settings(Settings().embedder)
        np.savez(queries, texts=np.array(texts), vectors=embedder.embed_queries(texts))
        build_rows, query_rows = [], []
        for size in args.sizes:
            b, q = scale_point(size, source, base, queries, Path(tmp))
            build_rows += b
            query_rows += q
    print_result("Large index: build (synthetic copies of SciFact chunks)", build_rows, {})
    title = f"Large index: memory and query latency ({len(texts)} SciFact claims, top-50)"
    print_result(title, query_rows, {})


if __name__ == "__main__":
    main()
