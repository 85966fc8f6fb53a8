"""Indexing through a real local Ray instance gives the same index as the plain path."""

from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np
import pytest

from app import QA
from indexing.builder import BuildOptions, BuildReport, IndexBuilder
from indexing.embedding import Embedder, EmbedderSettings
from indexing.index_dir import IndexDir
from indexing.reader import IndexReader
from tests.conftest import FACTS

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def ray_build(corpus: Path, root: Path, embedder: Embedder) -> BuildReport:
    from indexing.ray_pipeline import RayPipeline

    options = BuildOptions(progress=False)
    pipeline = RayPipeline(
        EmbedderSettings(model=embedder.name, device="cpu"),
        embedder.dimension,
        options.chunk_tokens,
        options.overlap_tokens,
        progress=False,
    )
    return IndexBuilder(IndexDir(root), embedder, options, pipeline).run([corpus])


def by_document(root: Path) -> dict[str, list[tuple[str, int, int, np.ndarray]]]:
    """Per document uri: (text, start, end, vector) of each chunk in order."""
    reader = IndexReader.open(root)
    # IndexIDMap2 reconstructs by chunk id, whatever ids each build assigned
    vectors = faiss.read_index(str(reader.version.faiss_path))
    ids = reader.store.chunk_ids()
    chunks = reader.store.chunks(ids)
    out: dict[str, list[tuple[str, int, int, np.ndarray]]] = {}
    for chunk_id in ids:
        c = chunks[chunk_id]
        row = (c.text, c.start, c.end, vectors.reconstruct(chunk_id))
        out.setdefault(c.doc_uri, []).append(row)
    reader.close()
    return {uri: sorted(rows, key=lambda r: r[1]) for uri, rows in out.items()}


def test_ray_index_matches_plain_index_and_answers(
    local_ray: None, corpus: Path, built_index: Path, embedder: Embedder, tmp_path: Path
) -> None:
    root = tmp_path / "ray-idx"
    report = ray_build(corpus, root, embedder)
    assert len(report.indexed) == 6 and report.chunks_added > 0

    plain, distributed = by_document(built_index), by_document(root)
    assert plain.keys() == distributed.keys()
    # bf16 rounding depends on which texts share a batch (padding), fp32's hardly at all
    atol = 1e-5 if embedder.precision == "float32" else 5e-3
    for uri, rows in plain.items():
        assert [r[:3] for r in distributed[uri]] == [r[:3] for r in rows], uri
        for (*_, want), (*_, got) in zip(rows, distributed[uri], strict=True):
            np.testing.assert_allclose(got, want, atol=atol)
            assert float(np.dot(got, want)) > 0.999
    assert IndexReader.open(root).integrity_problems() == []

    answer = QA.open(root).ask(FACTS["report.pdf"][2])
    assert Path(answer.passages[0].source).name == "report.pdf"
    assert answer.text


def test_ray_rerun_is_incremental(
    local_ray: None, private_corpus: tuple[Path, Path], embedder: Embedder
) -> None:
    folder, root = private_corpus
    ray_build(folder, root, embedder)
    (folder / "notes.txt").write_text("The Port of Valmora now unloads 9,999 containers daily.")
    (folder / "guide.md").unlink()
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n%%EOF not a pdf")
    report = ray_build(folder, root, embedder)
    assert [Path(p).name for p in report.indexed] == ["notes.txt"]
    assert [Path(p).name for p in report.removed] == ["guide.md"]
    assert [Path(p).name for p, _ in report.skipped] == ["broken.pdf"]
    assert report.unchanged == 4 and report.version == 2
    assert IndexReader.open(root).integrity_problems() == []
