import itertools
from pathlib import Path

import pytest

from indexing.chunking import Chunker
from indexing.documents import Document
from indexing.embedding import Embedder
from indexing.loaders import load_file

CORPUS = Path(__file__).resolve().parent.parent / "corpora" / "python-tutorial"


@pytest.fixture(scope="module")
def document() -> Document:
    return load_file(CORPUS / "controlflow.html")[0]


def test_chunks_fit_the_token_budget_and_point_back_into_the_document(
    embedder: Embedder, document: Document
) -> None:
    chunks = Chunker(embedder.tokenizer, chunk_tokens=120, overlap_tokens=20).split(document)
    assert len(chunks) > 10
    for chunk in chunks:
        assert len(embedder.tokenizer.tokenize(chunk.text)) <= 120
        assert document.text[chunk.start : chunk.end] == chunk.text
        assert chunk.title == document.title
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_neighbouring_chunks_overlap(embedder: Embedder, document: Document) -> None:
    chunks = Chunker(embedder.tokenizer, chunk_tokens=120, overlap_tokens=30).split(document)
    overlapping = sum(1 for a, b in itertools.pairwise(chunks) if b.start < a.end)
    assert overlapping >= len(chunks) // 2


@pytest.mark.parametrize(("size", "overlap"), [(8, 0), (100, 50), (100, -1)])
def test_bad_sizes_are_refused(embedder: Embedder, size: int, overlap: int) -> None:
    with pytest.raises(ValueError):
        Chunker(embedder.tokenizer, chunk_tokens=size, overlap_tokens=overlap)


def test_no_chunk_ends_on_the_colon_that_introduces_an_example(
    embedder: Embedder, document: Document
) -> None:
    # the tutorial introduces each example with "..., for example:" and a line break
    introductions = document.text.count(":\n")
    assert introductions > 10
    chunks = Chunker(embedder.tokenizer, chunk_tokens=120, overlap_tokens=20).split(document)
    assert [c.text[-60:] for c in chunks[:-1] if c.text.rstrip().endswith(":")] == []
