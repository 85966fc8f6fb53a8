"""Large-index parts on real FAISS and SQLite: IVF-PQ, memory-mapped loading, bulk inserts."""

import sqlite3
from pathlib import Path

import faiss
import numpy as np
import pytest

from indexing.documents import Chunk, Document
from indexing.errors import MinigiantError
from indexing.store import ChunkStore, FileRecord
from indexing.vectors import VectorIndex

DIM = 64


def clustered(n: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around 200 centres, shaped like real embeddings rather than pure noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((200, DIM))
    x = centres[rng.integers(0, 200, n)] + 0.3 * rng.standard_normal((n, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return clustered(12_000)


def flat_index(vectors: np.ndarray) -> VectorIndex:
    index = VectorIndex.create(DIM)
    index.add(np.arange(100, 100 + len(vectors)), vectors)
    return index


@pytest.mark.parametrize(("pq_bytes", "kind", "min_recall"), [(0, "ivf", 0.9), (16, "ivfpq", 0.4)])
def test_ivf_and_pq_find_what_flat_finds_and_survive_mmap(
    vectors: np.ndarray, tmp_path: Path, pq_bytes: int, kind: str, min_recall: float
) -> None:
    queries = vectors[:50]
    exact = flat_index(vectors).search(queries, 10)[1]
    index = flat_index(vectors)
    assert index.maybe_switch_to_ivf(1000, pq_bytes=pq_bytes)
    assert index.kind == kind and index.size == len(vectors)
    assert sorted(index.ids().tolist()) == list(range(100, 100 + len(vectors)))
    found = index.search(queries, 10)[1]
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact, strict=True)]) > (
        min_recall
    )

    index.remove(np.arange(100, 110))
    index.save(tmp_path / "faiss.index")
    if kind == "ivf":  # float16 lists, as in the flat index
        assert (tmp_path / "faiss.index").stat().st_size < 0.6 * vectors.nbytes + 8 * len(vectors)
    mapped = VectorIndex.load(tmp_path / "faiss.index", mmap=True)
    assert mapped.kind == kind and mapped.size == len(vectors) - 10
    np.testing.assert_array_equal(mapped.search(queries, 10)[1], index.search(queries, 10)[1])
    assert not set(mapped.search(queries[:10], 10)[1].ravel()) & set(range(100, 110))


def test_flat_index_stores_half_floats_and_ranks_as_exact_search(
    vectors: np.ndarray, tmp_path: Path
) -> None:
    exact = faiss.IndexFlatIP(DIM)
    exact.add(vectors)
    index = flat_index(vectors)
    found = index.search(vectors[:200], 10)[1] - 100
    truth = exact.search(vectors[:200], 10)[1]
    assert (found[:, 0] == truth[:, 0]).all()
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)]) > 0.99
    index.save(tmp_path / "faiss.index")
    assert (tmp_path / "faiss.index").stat().st_size < 0.6 * vectors.nbytes + 8 * len(vectors)


def test_pq_bytes_must_divide_the_dimension(vectors: np.ndarray) -> None:
    with pytest.raises(MinigiantError, match="pq_bytes=10 must divide .* 64: try 8"):
        flat_index(vectors).maybe_switch_to_ivf(1000, pq_bytes=10)


def test_pq_falls_back_to_ivf_when_too_few_vectors_to_train() -> None:
    index = flat_index(clustered(2000))
    assert index.maybe_switch_to_ivf(100, pq_bytes=16)
    assert index.kind == "ivf"


def test_bulk_insert_assigns_ids_after_existing_rows_and_feeds_fts(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path / "index.sqlite")

    def file(name: str, words: list[str]) -> tuple[FileRecord, list[Document], list[list[Chunk]]]:
        doc = Document(name, name, name, " ".join(words))
        chunks, at = [], 0
        for i, word in enumerate(words):
            chunks.append(Chunk(name, i, name, word, at, at + len(word)))
            at += len(word) + 1
        return FileRecord(name, "sha", 1), [doc], [chunks]

    with store.db.conn:
        first = store.add_files([file("a", ["alpha", "beta"]), file("b", ["gamma"])])
    with store.db.conn:
        store.remove_file("b")
        second = store.add_file(*file("c", ["delta", "epsilon"]))
    assert first == [1, 2, 3] and second == [3, 4]
    assert store.counts() == {"files": 2, "documents": 2, "chunks": 4}
    assert fts_hits(store, "epsilon") == [4]
    assert fts_hits(store, "delta") == [3]
    assert fts_hits(store, "gamma") == []
    assert store.chunks([4])[4].text == "epsilon"
    store.close()


def fts_hits(store: ChunkStore, term: str) -> list[int]:
    query = "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rowid"
    return [row[0] for row in store.db.execute(query, [term])]


def test_index_written_with_the_per_row_fts_trigger_indexes_new_chunks_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "index.sqlite"
    ChunkStore(path).close()
    old = sqlite3.connect(path)  # an index written before FTS rows were inserted per batch
    old.execute(
        "CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN INSERT INTO chunks_fts "
        "(rowid, title, text) VALUES (new.rowid, new.title, new.text); END"
    )
    old.commit()
    old.close()
    store = ChunkStore(path)
    doc = Document("a", "a", "a", "alpha beta")
    with store.db.conn:
        store.add_file(
            FileRecord("a", "sha", 1), [doc], [[Chunk("a", 0, "a", "alpha beta", 0, 10)]]
        )
    assert fts_hits(store, "alpha") == [1]
    count = store.db.execute("SELECT count(*) FROM chunks_fts_docsize").fetchone()[0]
    assert count == 1
    store.close()
