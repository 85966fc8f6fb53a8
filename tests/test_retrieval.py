import logging
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indexing.builder import BuildOptions, IndexBuilder
from indexing.documents import Chunk, Document
from indexing.embedding import Embedder
from indexing.errors import ModelNotFoundError
from indexing.index_dir import IndexDir
from indexing.reader import IndexReader
from indexing.store import ChunkStore, FileRecord
from retrieval.fusion import blend_scores, reciprocal_rank_fusion
from retrieval.hybrid import HybridRetriever, RetrievalOptions
from retrieval.lexical import LexicalRetriever, fts_query
from retrieval.near_copies import Said, wording
from retrieval.rerank import Reranker
from retrieval.windows import (
    best_window_scores,
    content_terms,
    focused_windows,
    half_windows,
    idf_overlap,
    word_windows,
)
from tests.conftest import FACTS


@pytest.fixture(scope="module")
def lexical(built_index: Path) -> LexicalRetriever:
    return LexicalRetriever(IndexReader.open(built_index).store)


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced',
        "AND OR NOT",
        "NEAR(glacier, 3)",
        "glac*",
        "title:glacier",
        "-glacier",
        "(glacier",
        "^glacier",
        "{glacier}",
        'glacier\'s "retreat"',
        "'; DROP TABLE chunks; --",
    ],
)
def test_user_punctuation_never_breaks_fts(lexical: LexicalRetriever, query: str) -> None:
    lexical.search(query, 5)


@given(st.text(max_size=200))
def test_any_text_is_a_valid_fts_query(built_index: Path, text: str) -> None:
    LexicalRetriever(IndexReader.open(built_index).store).search(text, 3)


def test_lexical_uses_porter_stemming(lexical: LexicalRetriever) -> None:
    hits = lexical.search("retreating glaciers", 3)
    assert hits, "stems 'retreat' and 'glacier' should match the PDF's text"


def test_a_term_in_most_chunks_is_left_out_of_large_queries(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path / "index.sqlite")
    texts = [f"Glaciers retreat in valley {i}." for i in range(9)] + ["Moraines mark a glacier."]
    documents = [Document(f"d{i}", "f.txt", "t", text) for i, text in enumerate(texts)]
    chunks = [[Chunk(d.uri, 0, "t", d.text, 0, len(d.text))] for d in documents]
    with store.db.conn:
        store.add_file(FileRecord("f.txt", "-", 0), documents, chunks)
    every_term = LexicalRetriever(store)
    assert len(every_term.search("glacier moraines", 10)) == 10
    pruned = LexicalRetriever(store, common_share=0.5, common_rows=0)
    assert pruned.rows_with("glaciers") == 10  # stemmed as the text is
    assert pruned.uncommon(["glacier", "moraines"]) == ["moraines"]
    assert len(pruned.search("glacier moraines", 10)) == 1
    assert len(pruned.search("glacier", 10)) == 10  # the rarest term always stays
    small_index = LexicalRetriever(store, common_share=0.5, common_rows=100)
    assert len(small_index.search("glacier moraines", 10)) == 10
    store.close()


def test_fts_query_is_or_of_quoted_terms() -> None:
    assert fts_query('Who "wrote" NEAR Paris?') == '"who" OR "wrote" OR "near" OR "paris"'
    assert fts_query("!!! ...") == ""


def test_fts_query_drops_stopwords_unless_nothing_else_is_left() -> None:
    assert fts_query("What is the capital of the Carniolan region?") == (
        '"what" OR "capital" OR "carniolan" OR "region"'
    )
    assert fts_query("to be or not to be") == '"to" OR "be" OR "or" OR "not"'


def test_rrf_merges_duplicates_and_rewards_agreement() -> None:
    fused = reciprocal_rank_fusion({"dense": [1, 2, 3], "lexical": [3, 4, 1]}, k=60)
    ids = [i for i, _ in fused]
    assert sorted(ids) == [1, 2, 3, 4] and len(ids) == len(set(ids))
    assert ids[:2] == [1, 3]


def test_top_n_and_scores(built_index: Path, embedder: Embedder) -> None:
    search = HybridRetriever(IndexReader.open(built_index), embedder, RetrievalOptions(top_n=2))
    timings: dict[str, float] = {}
    passages = search.retrieve("glacier survey", timings=timings)
    assert len(passages) == 2
    assert passages[0].scores["fused"] >= passages[1].scores["fused"]
    assert timings["retrieve"] > 0


def test_copies_of_a_text_take_one_place(
    private_corpus: tuple[Path, Path], embedder: Embedder
) -> None:
    """A file indexed twice (a copy under another name) is retrieved once, the best-ranked
    copy; the places it would have taken go to other texts."""
    folder, root = private_corpus
    shutil.copy(folder / "notes.txt", folder / "notes-copy.txt")
    shutil.copy(folder / "notes.txt", folder / "backup-notes.txt")
    IndexBuilder(IndexDir(root), embedder, BuildOptions(progress=False)).run([folder])
    reader = IndexReader.open(root)
    _, text, question = FACTS["notes.txt"]
    copies = [
        chunk_id
        for chunk_id, _ in LexicalRetriever(reader.store).search(question, 10)
        if reader.store.chunks([chunk_id])[chunk_id].text == text
    ]
    assert len(copies) == 3  # all three files are in the index
    search = HybridRetriever(reader, embedder, RetrievalOptions(reranker=None, top_n=4))
    passages = search.retrieve(question)
    assert len(passages) == 4 and passages[0].text == text
    assert len({p.text for p in passages}) == 4


def test_a_copy_in_other_markup_gives_its_place_to_another_text(
    private_corpus: tuple[Path, Path], embedder: Embedder
) -> None:
    """A Sphinx build indexes each page twice, as HTML and as its reST source, and the two
    chunks are not equal: the copy took a place the generator reads (in 9 of 15 questions
    over Python's own documentation). A copy giving another figure is another text."""
    folder, root = private_corpus
    title, text, question = FACTS["notes.txt"]
    rst = text.replace("Port of Valmora", ":term:`Port of Valmora`").replace("orange", "*orange*")
    (folder / "notes.rst.txt").write_text(f"{title}\n{'=' * len(title)}\n\n{rst}\n")
    (folder / "notes-2019.txt").write_text(text.replace("4,812", "3,977"))
    IndexBuilder(IndexDir(root), embedder, BuildOptions(progress=False)).run([folder])
    reader = IndexReader.open(root)
    markup_copy = [
        p.source
        for p in HybridRetriever(
            reader, embedder, RetrievalOptions(reranker=None, top_n=4, copy_share=None)
        ).retrieve(question)
        if "4,812" in p.text
    ]
    assert len(markup_copy) == 2  # without the rule both forms take a place
    passages = HybridRetriever(reader, embedder, RetrievalOptions(reranker=None, top_n=4)).retrieve(
        question
    )
    assert len(passages) == 4
    assert sum("4,812" in p.text for p in passages) == 1
    assert sum("3,977" in p.text for p in passages) == 1


def test_near_copies_are_judged_by_runs_of_words_and_numbers() -> None:
    said = Said()
    said.add(wording("The venv module creates virtual environments, each with its own site."))
    assert said.repeats(
        wording("The :mod:`venv` module creates *virtual environments*, each with its own site"),
        0.7,
    )
    assert not said.repeats(
        wording("The venv module can also upgrade the Python of an environment."), 0.7
    )
    said.add(wording("In 2019 the port unloaded 4,812 containers on an average Tuesday."))
    assert not said.repeats(
        wording("In 2020 the port unloaded 4,812 containers on an average Tuesday."), 0.5
    )
    assert not said.repeats(wording(".. …"), 0.1)


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="cannot both be 0"):
        RetrievalOptions(dense_k=0, lexical_k=0)
    with pytest.raises(ValueError):
        RetrievalOptions(top_n=10_000)


def test_missing_reranker_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="retrieval.reranker"):
        Reranker(str(tmp_path / "no-such-model"))


def test_blend_keeps_margins_and_its_weight_ends() -> None:
    first, second = [3.0, 2.0, 1.0], [0.0, 5.0, 10.0]
    assert blend_scores(first, second, 0.0) == [1.0, 0.5, 0.0]
    assert blend_scores(first, second, 1.0) == [0.0, 0.5, 1.0]
    # a near tie in the first stage is settled by the second, a wide margin is not
    assert blend_scores([1.0, 0.98, 0.0], [0.0, 1.0, 0.5], 0.3)[:2] == pytest.approx([0.7, 0.986])
    assert blend_scores([5.0, 5.0], [1.0, 2.0], 0.5) == [0.0, 0.5]
    with pytest.raises(ValueError, match="weight"):
        blend_scores(first, second, 1.5)


@pytest.mark.parametrize("mode", ["replace", "rrf", "blend"])
def test_rerank_modes_order_by_reranker_or_by_fusion(
    built_index: Path, embedder: Embedder, untrained_cross_encoder: Path, mode: str
) -> None:
    reader = IndexReader.open(built_index)
    plain = HybridRetriever(reader, embedder, RetrievalOptions(top_n=6, rerank_k=6))
    hybrid = [p.chunk_id for p in plain.retrieve("glacier survey")]
    options = RetrievalOptions(top_n=6, rerank_k=6, rerank_mode=mode)
    reranker = Reranker(str(untrained_cross_encoder), device="cpu")
    passages = HybridRetriever(reader, embedder, options, reranker).retrieve("glacier survey")
    assert sorted(p.chunk_id for p in passages) == sorted(hybrid)
    by_rerank = [p.chunk_id for p in sorted(passages, key=lambda p: -p.scores["rerank"])]
    if mode == "replace":
        expected = by_rerank
    elif mode == "blend":
        fused = [p.scores["fused"] for p in passages]
        mixed = blend_scores(fused, [p.scores["rerank"] for p in passages], options.rerank_weight)
        ranked = sorted(zip(mixed, passages, strict=True), key=lambda m: -m[0])
        expected = [p.chunk_id for _, p in ranked]
        assert [p.scores["blend"] for p in passages] == sorted(mixed, reverse=True)
    else:
        expected = [i for i, _ in reciprocal_rank_fusion({"h": hybrid, "r": by_rerank}, 60)]
    assert [p.chunk_id for p in passages] == expected


def test_int8_reranker_is_quantised_and_keeps_the_order(untrained_cross_encoder: Path) -> None:
    import torch

    passages = [
        "Glaciers retreat as summers warm.",
        "The survey mapped every glacier in the range.",
        "Bread rises because yeast makes gas.",
        "A ledger records each payment.",
        "Ice cores hold old air.",
    ]
    full = Reranker(str(untrained_cross_encoder), device="cpu")
    small = Reranker(str(untrained_cross_encoder), device="cpu", dtype="int8")
    quantised = torch.ao.nn.quantized.dynamic.Linear
    assert any(isinstance(m, quantised) for m in small.model.model.modules())
    assert not any(isinstance(m, quantised) for m in full.model.model.modules())
    a, b = full.score("glacier survey", passages), small.score("glacier survey", passages)
    assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < 0.1 * (max(a) - min(a)) + 0.01


def test_word_windows_overlap_and_cover_everything() -> None:
    words = [f"w{i}" for i in range(125)]
    windows = word_windows(" ".join(words), 70, 20)
    assert [w.split()[0] for w in windows] == ["w0", "w50", "w100"]
    assert windows[0].split()[-20:] == windows[1].split()[:20]
    assert {t for w in windows for t in w.split()} == set(words)
    assert word_windows("short text", 70, 20) == ["short text"]
    with pytest.raises(ValueError, match="overlap"):
        word_windows("a b c", 10, 10)


def test_half_windows_overlap_by_half_and_cover_everything() -> None:
    words = [f"w{i}" for i in range(250)]
    windows = half_windows(" ".join(words), 100)
    assert [w.split()[0] for w in windows] == ["w0", "w50", "w100", "w150"]
    assert windows[-1].split()[-1] == "w249"
    assert all(len(w.split()) <= 100 for w in windows)


def test_best_window_scores_take_each_items_best_window() -> None:
    windows = [[("q", "a"), ("q", "bbb"), ("q", "cc")], [("q", "dddd")], []]
    seen: list[list[tuple[str, str]]] = []

    def predict(flat: list[tuple[str, str]]) -> list[float]:
        seen.append(flat)
        return [float(len(p)) for _, p in flat]

    assert best_window_scores(windows, predict) == [3.0, 4.0, float("-inf")]
    assert len(seen) == 1 and len(seen[0]) == 4  # one batched call


def test_focused_windows_keep_those_richest_in_rare_query_terms() -> None:
    passages = [
        [
            "the survey of the valley",
            "glaciers retreated in the valley survey",
            "the valley floor",
        ],
        ["a survey of bread", "bread survey team"],
        ["nothing shared here", "nor here"],
    ]
    query = "Did the glacier retreat in the survey?"
    [first], [second], [third] = focused_windows(query, passages, 1)
    assert first == "glaciers retreated in the valley survey"  # rare terms, crude stems
    assert second == "a survey of bread"  # a tie keeps the earlier window
    assert third == "nothing shared here"  # no overlap: the passage's start
    two = focused_windows(query, passages, 2)
    assert two[0] == passages[0][:2]  # in passage order, not by weight
    assert focused_windows(query, passages, 5) == passages


@pytest.mark.parametrize(
    ("question", "terms"),
    [
        ("Explain *args and **kwargs.", {"args", "kwargs"}),
        ("Can you please describe the venv module?", {"venv", "module"}),
        ("Could you explain the lambda?", {"lambda"}),
        ("Could a lambda hold two expressions?", {"could", "lambda", "hold", "two", "expres"}),
        ("How do I sort a list?", {"sort", "list"}),
        ("List the string methods.", {"string", "method"}),
    ],
)
def test_content_terms_leave_out_how_a_question_asks(question: str, terms: set[str]) -> None:
    assert content_terms(question) == terms


def test_idf_overlap_weighs_the_rarer_question_terms() -> None:
    wanted = content_terms("How far did the Tarnvik glacier retreat in the survey?")
    assert wanted == {"tarnvi", "glacie", "retrea", "survey", "far"}
    texts = [
        "The Tarnvik glacier lies in the eastern range.",
        "The Tarnvik glacier retreated 212 metres.",
        "Nothing here.",
    ]
    shares = idf_overlap(wanted, texts)
    assert shares[1] > shares[0] > shares[2] == 0.0  # "retreat" is rarer than the name
    assert all(0.0 <= share <= 1.0 for share in shares)
    assert idf_overlap(set(), texts) == [0.0, 0.0, 0.0]


@pytest.mark.slow
def test_shipped_reranker_reads_past_its_first_window() -> None:
    """The answer sits after 150 words of filler: truncated to 128 tokens the passage looks
    off-topic; read in windows, the window that counts is the answer's, whether the reranker
    reads every window or (the default) only the one richest in the query's terms."""
    filler = " ".join(["The committee met again on Tuesday to discuss the annual budget."] * 15)
    answer = "Vitamin D supplements lowered the rate of hip fractures in elderly women."
    passage = f"{filler} {answer}"
    query = "Does vitamin D reduce hip fractures in older women?"
    shipped = RetrievalOptions()
    truncated = Reranker("minigiant-reranker", device="cpu")
    every = Reranker("minigiant-reranker", device="cpu", window_words=70)
    focused = Reranker(
        "minigiant-reranker",
        device="cpu",
        window_words=shipped.rerank_window_words,
        windows_read=shipped.rerank_windows_read,
    )
    [whole] = truncated.score(query, [passage])
    [best_of_all] = every.score(query, [passage])
    assert best_of_all == pytest.approx(max(truncated.score(query, half_windows(passage, 70))))
    last = half_windows(passage, shipped.rerank_window_words)[-1]
    assert answer in last
    [best] = focused.score(query, [passage])
    assert best == pytest.approx(truncated.score(query, [last])[0])
    assert min(best, best_of_all) > 0.5 > whole  # scores are P(relevant)
    # and it ranks: the answer above a passage on the same words that does not answer
    [other] = focused.score(query, ["Hip fractures are common in older women after a fall."])
    assert best > other


def test_shipped_reranker_loads_without_warnings(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Its base has no scoring head until our tensors fill it: no "MISSING" report may reach a
    user's terminal (it landed in the middle of streamed answers)."""
    from indexing.models import resolve_model
    from retrieval.cross_encoder import load_cross_encoder

    with caplog.at_level(logging.WARNING):
        model = load_cross_encoder(resolve_model("minigiant-reranker", "t"), "cpu", 256, "t")
    err = capfd.readouterr().err
    assert "LOAD REPORT" not in err and "MISSING" not in err and "Converting" not in err
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert model.max_seq_length == 128
