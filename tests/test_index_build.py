from pathlib import Path

import pytest

from indexing.builder import BuildOptions, IndexBuilder
from indexing.embedding import Embedder
from indexing.errors import IndexStateError
from indexing.index_dir import IndexDir
from indexing.reader import IndexReader
from retrieval.hybrid import HybridRetriever, RetrievalOptions
from tests.conftest import BEIR_QUESTION, FACTS


def build(folder: Path, root: Path, embedder: Embedder, **options: object):
    return IndexBuilder(IndexDir(root), embedder, BuildOptions(progress=False, **options)).run(
        [folder]
    )


def retriever(root: Path, embedder: Embedder) -> HybridRetriever:
    return HybridRetriever(IndexReader.open(root), embedder, RetrievalOptions(top_n=3))


@pytest.mark.parametrize("name", list(FACTS))
def test_answer_file_ranks_first(built_index: Path, embedder: Embedder, name: str) -> None:
    question = FACTS[name][2]
    [top, *_] = retriever(built_index, embedder).retrieve(question)
    assert Path(top.source).name == name
    assert {"dense", "lexical", "fused"} <= set(top.scores)


def test_beir_document_ranks_first(built_index: Path, embedder: Embedder) -> None:
    question, uri_suffix = BEIR_QUESTION
    [top, *_] = retriever(built_index, embedder).retrieve(question)
    assert top.doc_uri.endswith(uri_suffix)


def test_fresh_index_is_consistent(built_index: Path) -> None:
    reader = IndexReader.open(built_index)
    assert reader.integrity_problems() == []
    assert reader.store.counts() == {"files": 6, "documents": 7, "chunks": reader.vectors.size}


def test_rerun_re_embeds_only_changed_files_and_forgets_deleted_ones(
    private_corpus: tuple[Path, Path], embedder: Embedder
) -> None:
    folder, root = private_corpus
    first = build(folder, root, embedder)
    assert len(first.indexed) == 6 and first.version == 1

    unchanged = build(folder, root, embedder)
    assert not unchanged.changed and unchanged.unchanged == 6
    assert IndexDir(root).current().number == 1

    (folder / "notes.txt").write_text("The Port of Valmora now unloads 9,999 containers daily.")
    (folder / "guide.md").unlink()
    second = build(folder, root, embedder)
    assert [Path(p).name for p in second.indexed] == ["notes.txt"]
    assert [Path(p).name for p in second.removed] == ["guide.md"]
    assert second.unchanged == 4 and second.version == 2

    reader = IndexReader.open(root)
    assert reader.integrity_problems() == []
    search = HybridRetriever(reader, embedder, RetrievalOptions(top_n=50))
    hits = search.retrieve(FACTS["guide.md"][2])
    assert all(Path(p.source).name != "guide.md" for p in hits)
    assert not search.lexical.search("Carniolan Zelora linden", 10)
    [top, *_] = search.retrieve("How many containers does Valmora unload?")
    assert "9,999" in top.text


def test_excluded_files_are_left_out_and_dropped_once_a_pattern_matches_them(
    private_corpus: tuple[Path, Path], embedder: Embedder
) -> None:
    folder, root = private_corpus
    (folder / "archive").mkdir()
    (folder / "archive" / "guide-2019.md").write_text(FACTS["guide.md"][1])
    first = build(folder, root, embedder, exclude=["archive"])
    assert len(first.indexed) == 6
    assert not any("archive" in p for p in first.indexed)

    everything = build(folder, root, embedder)
    assert [Path(p).name for p in everything.indexed] == ["guide-2019.md"]

    narrowed = build(folder, root, embedder, exclude=["guide*.md"])
    assert sorted(Path(p).name for p in narrowed.removed) == ["guide-2019.md", "guide.md"]
    assert narrowed.unchanged == 5 and not narrowed.indexed
    files = IndexReader.open(root).store.files()
    assert sorted(files) == sorted(p for p in first.indexed if not p.endswith("guide.md"))


def test_bad_files_are_skipped_and_reported(
    private_corpus: tuple[Path, Path], embedder: Embedder
) -> None:
    folder, root = private_corpus
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.7\n%%EOF garbage that is no pdf")
    (folder / "program.txt").write_bytes(b"\x7fELF\x00\x00\x01" + bytes(2000))
    report = build(folder, root, embedder)
    reasons = {Path(p).name: r for p, r in report.skipped}
    assert set(reasons) == {"corrupt.pdf", "program.txt"}
    assert "PDF" in reasons["corrupt.pdf"] and "binary" in reasons["program.txt"]
    assert len(report.indexed) == 6


def test_index_built_with_another_embedder_is_refused(
    private_corpus: tuple[Path, Path], embedder: Embedder
) -> None:
    folder, root = private_corpus
    build(folder, root, embedder)
    with pytest.raises(IndexStateError, match="chunk_tokens"):
        build(folder, root, embedder, chunk_tokens=100)
    reader = IndexReader.open(root)
    with pytest.raises(IndexStateError, match="embedder"):
        reader.check_embedder("BAAI/bge-small-en-v1.5")


def test_large_index_switches_to_ivf_and_still_finds_answers(
    private_corpus: tuple[Path, Path], embedder: Embedder
) -> None:
    folder, root = private_corpus
    build(folder, root, embedder, ivf_threshold=3)
    reader = IndexReader.open(root)
    assert reader.vectors.kind == "ivf"
    assert reader.integrity_problems() == []
    [top, *_] = HybridRetriever(reader, embedder, RetrievalOptions()).retrieve(
        FACTS["page.html"][2]
    )
    assert Path(top.source).name == "page.html"
