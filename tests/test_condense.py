"""Follow-up questions: which need the conversation, and what the rewrite makes of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.qa import QA
from app.settings import Settings
from generation.condense import (
    Condenser,
    ConversationSettings,
    Turn,
    continued,
    leans_on_conversation,
    recent,
    rewords,
    rewrite_messages,
    turns_from,
)
from generation.engines import make_generator
from generation.prompt import build_messages
from indexing.builder import BuildOptions, IndexBuilder
from indexing.embedding import Embedder
from indexing.index_dir import IndexDir
from tests.conftest import FACTS, SMALL_GENERATOR

VENV = [
    {"role": "user", "content": "How do I create a virtual environment?"},
    {"role": "assistant", "content": "Run python -m venv followed by a folder name [1]."},
]


@pytest.mark.parametrize(
    "question",
    [
        "and how do I activate it?",
        "What about Windows?",
        "Why?",
        "Which of those is faster?",
        "Can they be nested?",
        "Tell me more",
    ],
)
def test_follow_ups_that_point_back_are_rewritten(question: str) -> None:
    assert leans_on_conversation(question)


@pytest.mark.parametrize(
    "question",
    [
        "How do I create a virtual environment in Python?",
        "What does pip freeze print?",
        "How many containers does the Port of Valmora unload on a Tuesday?",
    ],
)
def test_questions_that_stand_alone_are_kept(question: str) -> None:
    assert not leans_on_conversation(question)


def test_history_takes_openai_messages_and_drops_system_ones() -> None:
    turns = turns_from(
        [
            {"role": "system", "content": "be terse"},
            *VENV,
            {"role": "user", "content": [{"type": "text", "text": "multi"}, {"type": "image"}]},
            {"role": "assistant", "content": None},
        ]
    )
    assert [t.role for t in turns] == ["user", "assistant", "user"]
    assert turns[2].content == "multi "
    with pytest.raises(ValueError, match=r"history\[0\]\.role"):
        turns_from([{"role": "robot", "content": "x"}])


def test_recent_turns_are_cut_and_lose_old_citation_markers() -> None:
    settings = ConversationSettings(turns=2, turn_chars=60)
    turns = [Turn("user", "first"), *turns_from(VENV), Turn("user", "x" * 100)][-3:]
    kept = recent(turns, settings)
    assert [t.content for t in kept] == [
        "Run python -m venv followed by a folder name.",
        "x" * 59 + "…",
    ]
    assert recent(turns, ConversationSettings(turns=0)) == []


def test_a_kept_conversation_holds_what_the_next_question_reads() -> None:
    answer = "Run the activate script [2]."
    kept = continued(VENV, "and on Windows?", answer, ConversationSettings())
    assert kept == [
        *VENV,
        {"role": "user", "content": "and on Windows?"},
        {"role": "assistant", "content": answer},
    ]
    three = continued(kept, "why?", "Because.", ConversationSettings(turns=3))
    assert [m["content"] for m in three] == ["Run the activate script [2].", "why?", "Because."]
    assert continued(VENV, "q", "a", ConversationSettings(turns=0)) == []


def test_the_generator_sees_the_conversation_after_its_worked_examples() -> None:
    plain = build_messages("How do I activate it?", [])
    with_turns = build_messages("How do I activate it?", [], turns_from(VENV))
    assert with_turns[: len(plain) - 1] == plain[:-1]  # the cached prefix is unchanged
    assert with_turns[-3:-1] == [
        {"role": "user", "content": VENV[0]["content"]},
        {"role": "assistant", "content": VENV[1]["content"]},
    ]


def test_off_concat_and_standalone_questions_need_no_generation() -> None:
    generator = make_generator(Settings().generator)
    turns = turns_from(VENV)
    question = "and how do I activate it?"
    assert (
        Condenser(generator, ConversationSettings(rewrite="off")).standalone(question, turns)
        == question
    )
    concat = Condenser(generator, ConversationSettings(rewrite="concat"))
    assert concat.standalone(question, turns) == f"{VENV[0]['content']} {question}"
    auto = Condenser(generator, ConversationSettings(rewrite="auto"))
    standalone = "What does pip freeze print?"
    assert auto.standalone(standalone, turns) == standalone
    assert auto.standalone(question, []) == question
    unread = lambda text: pytest.fail(f"searched for {text!r}")  # noqa: E731
    assert auto.english(standalone, unread) == standalone
    german = "Was gibt pip freeze aus?"
    off = Condenser(generator, ConversationSettings(translate=False))
    assert off.english(german, unread) == german
    # passages in the question's language: its words are the ones they write
    assert auto.english(german, lambda _: ["Der Befehl pip freeze gibt die Pakete aus."]) == german


def test_only_a_conversation_or_another_language_rewords_the_question() -> None:
    settings = ConversationSettings()
    assert not rewords("What does pip freeze print?", [], settings)
    assert rewords("What does pip freeze print?", turns_from(VENV), settings)
    assert rewords("Was gibt pip freeze aus?", [], settings)
    assert not rewords("Was gibt pip freeze aus?", [], ConversationSettings(translate=False))


def test_a_follow_up_retrieves_through_the_conversation(built_index: Path) -> None:
    """The question retrieval reads carries the conversation, and the answer says so."""
    _, _, first = FACTS["notes.txt"]
    settings = Settings(index=built_index, conversation={"rewrite": "concat"})
    qa = QA(settings)
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": "4,812 [1]."}]
    answer = qa.ask("And what colour are the cranes there?", history=history)
    assert answer.standalone is not None and first in answer.standalone
    assert answer.history_turns == 2
    assert "condense" in answer.timings
    assert answer.passages and Path(answer.passages[0].source).name == "notes.txt"
    alone = qa.ask("And what colour are the cranes there?")
    assert alone.standalone is None and alone.history_turns == 0


def test_a_warmed_up_qa_reads_its_first_follow_up_s_rewrite_from_cache(built_index: Path) -> None:
    """`warm_up` reads the rewrite's prompt before the answer's, so a conversation's first
    follow-up starts its rewrite from the cached instructions and worked example, and the
    answer after it from its own (test_engines.py)."""
    qa = QA(Settings(index=built_index, generator={**SMALL_GENERATOR, "context_tokens": 2304}))
    qa.warm_up()
    rewrite = rewrite_messages("And what colour are they?", turns_from(VENV))
    usage: dict[str, int] = {}
    "".join(qa.generator.stream(rewrite, 5, 0.0, usage))
    fixed = qa.generator._prompt_ids(rewrite[:-1], reply=False)
    assert usage["cached_tokens"] >= len(fixed) > 50
    # the answer's instructions, not the rewrite's, are the ones kept on disk for a new process
    answering = qa.generator._prompt_ids(build_messages("", [])[:-1], reply=False)
    assert qa.generator._disk.held == answering


@pytest.mark.slow
def test_the_default_generator_rewrites_a_follow_up(default_generator: None) -> None:
    generator = make_generator(Settings().generator)
    condenser = Condenser(generator, ConversationSettings())
    rewritten = condenser.standalone("and how do I activate it?", turns_from(VENV))
    assert "activate" in rewritten.lower() and "virtual environment" in rewritten.lower()
    assert not rewritten.lower().startswith(("to activate", "run "))  # a question, not the answer


def test_a_question_in_another_language_is_translated_before_retrieval(
    built_index: Path,
) -> None:
    """The small test generator's translation is whatever it is; the path is what is tested:
    retrieval reads a generated question, shown as the one searched for."""
    qa = QA(Settings(index=built_index))
    answer = qa.ask("Wie viele Container entlädt der Hafen von Valmora an einem Dienstag?")
    assert "condense" in answer.timings
    assert answer.standalone is not None
    english = qa.ask(FACTS["notes.txt"][2])
    assert english.standalone is None and "condense" not in english.timings


def test_a_question_in_its_documents_language_is_not_translated(
    tmp_path: Path, embedder: Embedder
) -> None:
    """Over German documents a German question is the one that matches their words."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "hafen.txt").write_text(
        "Der Hafen von Valmora entlädt an einem gewöhnlichen Dienstag genau 4.812 Container. "
        "Die Kräne am Nordkai sind orange gestrichen, damit Lotsen sie im Nebel sehen."
    )
    root = tmp_path / "idx"
    IndexBuilder(IndexDir(root), embedder, BuildOptions(progress=False)).run([folder])
    answer = QA(Settings(index=root)).ask(
        "Wie viele Container entlädt der Hafen von Valmora an einem Dienstag?"
    )
    assert answer.standalone is None


@pytest.mark.slow
def test_the_default_generator_answers_a_german_question_from_english_notes(
    built_index: Path, default_generator: None
) -> None:
    """Untranslated, the English-only embedder, reranker and gate abstained on most such
    questions; translated, the answer is the English fact, checked against its passage."""
    qa = QA(Settings(index=built_index))
    answer = qa.ask("Wie viele Container entlädt der Hafen von Valmora an einem Dienstag?")
    assert answer.standalone is not None and "valmora" in answer.standalone.lower()
    assert not answer.abstained
    assert "4,812" in answer.text or "4812" in answer.text
    assert answer.passages and Path(answer.passages[0].source).name == "notes.txt"
