"""The whole path through the Python API with the real packaged LLM."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app import QA, Settings
from generation.citations import without_markers
from indexing.errors import IndexStateError, MinigiantError, ModelNotFoundError
from indexing.models import load_once
from tests.conftest import FACTS


@pytest.fixture(scope="module")
def qa(built_index: Path) -> QA:
    return QA.open(built_index)


def test_answer_cites_a_retrieved_passage(qa: QA) -> None:
    answer = qa.ask(FACTS["page.html"][2])
    assert answer.text and not answer.abstained
    assert answer.citations, answer.text
    for citation in answer.citations:
        assert 1 <= citation.number <= len(answer.passages)
        assert citation.passage is answer.passages[citation.number - 1]
    assert Path(answer.passages[0].source).name == "page.html"
    assert {"retrieve", "first_token", "generate", "total"} <= set(answer.timings)


@pytest.mark.slow
def test_the_default_generator_answers_right_and_cited(
    built_index: Path, default_generator: None
) -> None:
    qa = QA.open(built_index)
    assert qa.settings.generator.model == "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    qa.warm_up()
    for name, expected in (("guide.md", "31 kilograms"), ("page.html", "Halvorsen")):
        answer = qa.ask(FACTS[name][2])
        assert expected in answer.text, answer.text
        assert [Path(c.passage.source).name for c in answer.citations] == [name], answer.text
        assert answer.grounded, answer.verdicts
        assert answer.timings["prune"] > 0
        # the gate read this question and its sources; the instructions and examples came
        # from the state warm_up kept
        assert 300 < answer.usage["cached_tokens"] < answer.usage["prompt_tokens"] - 20


def test_stream_yields_pieces_then_the_answer(qa: QA) -> None:
    stream = qa.ask_stream(FACTS["report.pdf"][2])
    pieces = list(stream)
    assert len(pieces) > 1
    assert stream.answer is not None and stream.streamed == "".join(pieces)
    # the finished answer is the streamed one, its citations re-pointed where the checker
    # found another passage backing a sentence
    assert without_markers(stream.answer.text) == without_markers(stream.streamed.strip())


@pytest.mark.parametrize("question", ["", "   ", "x" * 5000, {"question": "What is it?"}])
def test_bad_questions_get_clear_errors(qa: QA, question: str) -> None:
    with pytest.raises(MinigiantError, match="empty|limit|must be text, not dict"):
        qa.ask(question)


def test_memory_mapped_index_retrieves_what_the_loaded_one_does(qa: QA, built_index: Path) -> None:
    mapped = QA(Settings(index=built_index, retrieval={"mmap": True, "nprobe": 4}))
    assert mapped.reader.vectors.nprobe == 4
    for _, _, question in FACTS.values():
        expected = [p.chunk_id for p in qa.retrieve(question)]
        assert [p.chunk_id for p in mapped.retrieve(question)] == expected
    mapped.close()


def test_missing_index_says_how_to_build_one(tmp_path: Path) -> None:
    with pytest.raises(IndexStateError, match="minigiant index"):
        QA.open(tmp_path / "nothing-here")


def test_missing_generator_model_names_the_setting(built_index: Path) -> None:
    settings = Settings(index=built_index, generator={"model": "/no/such/model.gguf"})
    with pytest.raises(ModelNotFoundError, match="generator.model"):
        QA(settings).ask(FACTS["notes.txt"][2])


def test_settings_from_environment_and_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "minigiant.toml"
    config.write_text("[retrieval]\ntop_n = 7\n\n[generator]\nmax_tokens = 99\n")
    monkeypatch.setenv("MINIGIANT_CONFIG", str(config))
    monkeypatch.setenv("MINIGIANT_GENERATOR__MAX_TOKENS", "42")
    settings = Settings()
    assert settings.retrieval.top_n == 7
    assert settings.generator.max_tokens == 42  # environment beats the file
    monkeypatch.setenv("MINIGIANT_RETRIEVAL__TOP_N", "0")
    with pytest.raises(ValueError, match="top_n"):
        Settings()
    monkeypatch.delenv("MINIGIANT_RETRIEVAL__TOP_N")
    # an empty variable means none: a number's "auto", an optional model's "off"
    monkeypatch.setenv("MINIGIANT_GENERATOR__THREADS", "")
    monkeypatch.setenv("MINIGIANT_RETRIEVAL__RERANKER", "")
    emptied = Settings()
    assert emptied.generator.threads is None and emptied.retrieval.reranker is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"top_n": 10_000}, "top_n"),
        ({"top_n": 0}, "top_n"),
        ({"temperature": 5.0}, "temperature"),
    ],
)
def test_out_of_range_options_are_refused(qa: QA, options: dict, message: str) -> None:
    with pytest.raises(MinigiantError, match=message):
        qa.ask(FACTS["notes.txt"][2], **options)


def test_passages_are_cut_to_the_generator_context(built_index: Path) -> None:
    settings = Settings(index=built_index, generator={"context_tokens": 1024, "max_tokens": 64})
    answer = QA(settings).ask(FACTS["notes.txt"][2], top_n=7)
    assert 1 <= len(answer.passages) < 7


def test_models_load_side_by_side_and_each_once() -> None:
    """Two loads of different models run at once (each waits here for the other to start,
    which one lock for all loads would never let happen); two of one model load it once."""
    started = threading.Barrier(2, timeout=10)
    calls: list[str] = []

    def loader(name: str) -> Callable[[], str]:
        def load() -> str:
            calls.append(name)
            started.wait()
            return name

        return load

    keys = [("test-side-by-side", "a"), ("test-side-by-side", "b")]
    with ThreadPoolExecutor(2) as pool:
        loaded = list(pool.map(lambda key: load_once(key, "test", loader(key[1])), keys))
    assert loaded == ["a", "b"] and sorted(calls) == ["a", "b"]
    assert load_once(keys[0], "test", loader("again")) == "a" and len(calls) == 2


def test_a_one_question_process_loads_the_generator_with_the_small_models(
    built_index: Path,
) -> None:
    qa = QA(Settings(index=built_index), preload_generator=True)
    assert qa._generator is not None
    answer = qa.ask(FACTS["page.html"][2])
    assert answer.text and answer.timings["first_token"] < answer.timings["total"]
    with pytest.raises(ModelNotFoundError, match="generator.model"):
        QA(
            Settings(index=built_index, generator={"model": "/nowhere/model.gguf"}),
            preload_generator=True,
        )
