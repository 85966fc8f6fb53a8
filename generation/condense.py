"""Turn what the user wrote into a question that retrieval can answer: standalone, in English.

"And how do I activate it?" retrieves passages about "it". Before retrieval the generator's
small model rewrites such a question with the recent turns in view (the "condense question"
step of conversational RAG); a question that already names what it asks about is kept as it
is, since a rewrite costs a generation. Which questions need one is decided by a cheap rule:
words that point back into the conversation, an opening that continues it, or too few words
to stand alone. A question in another language is translated the same way, since the
embedder, the reranker and the pruner read English (generation/language.py decides which).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from generation.citations import without_markers
from generation.engines import Generator
from generation.language import is_foreign, mostly_foreign

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class Turn:
    role: Role
    content: str


# words that refer to something said before, and openings that continue a conversation
_POINTS_BACK = re.compile(
    r"\b(it|its|it's|itself|they|them|their|theirs|themselves|this|that|these|those|he|him|"
    r"his|she|her|hers|there|such|same|former|latter|above|previous|one|ones|other|others|"
    r"another|else|more|also|too|then|again|both|either|neither|which)\b",
    re.IGNORECASE,
)
_CONTINUES = re.compile(
    r"^\s*(and|but|so|or|also|then|what about|how about|why|why not|really|ok|okay|"
    r"what else|anything else|any other|tell me more|more)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")
MIN_STANDALONE_WORDS = 4

REWRITE_SYSTEM = (
    "You rewrite follow-up messages of a conversation as standalone questions for a search "
    "engine. You never answer them."
)
REWRITE_ASK = (
    "Rewrite the follow-up as one standalone question that can be understood without the "
    "conversation: replace words like it, they, this and that with what they refer to, keep "
    "every name, number and qualifier, and add nothing else. Reply with the question only."
)
_EXAMPLE = (
    [
        Turn("user", "How do I create a virtual environment in Python?"),
        Turn("assistant", "Run python -m venv followed by a folder name."),
    ],
    "and how do I activate it?",
    "How do I activate a Python virtual environment?",
)


TRANSLATE_SYSTEM = (
    "You translate questions into English for a search engine. You never answer them."
)
TRANSLATE_ASK = (
    "Translate the question into English. Keep every name, number and piece of code as "
    "written. Reply with the translation only."
)
_TRANSLATE_EXAMPLE = (
    "Wie alt ist der Eiffelturm in Paris?",
    "How old is the Eiffel Tower in Paris?",
)


class ConversationSettings(BaseModel):
    """How the question retrieval reads is made from what the user wrote: the earlier turns
    of a conversation, and the language it is written in."""

    # auto: rewrite with the small generator only when the rule above says the question
    # leans on the conversation; always: rewrite every follow-up; concat: retrieve with the
    # earlier user questions prepended (no generation); off: ignore the conversation
    rewrite: Literal["auto", "always", "concat", "off"] = "auto"
    # earlier messages (user and assistant) the rewrite and the generator see
    turns: int = Field(4, ge=0, le=40)
    # each earlier message is cut to this many characters
    turn_chars: int = Field(600, ge=40, le=20_000)
    rewrite_tokens: int = Field(48, ge=8, le=512)
    # a question written in another language is translated into English, which retrieval
    # and the generator then read, so the answer comes in the documents' language, the one
    # the checker reads (answers in Spanish went unchecked); not where the passages it finds
    # as written are mostly foreign too (documents in the question's language). Over the
    # demo index 28 of 40 questions in other languages were abstained on untranslated, none
    # translated. Off where the embedder and reranker read the question's language themselves
    translate: bool = True


def turns_from(history: Iterable[Turn | Mapping[str, object]] | None) -> list[Turn]:
    """Chat messages as `Turn`s: OpenAI-style dicts (role, content) or Turns. System and
    tool messages are not part of the conversation about the documents and are left out."""
    turns: list[Turn] = []
    for i, item in enumerate(history or []):
        if isinstance(item, Turn):
            turns.append(item)
            continue
        if not isinstance(item, Mapping):
            raise TypeError(f"history[{i}] must be a mapping with role and content")
        role, content = item.get("role"), item.get("content")
        if role in ("system", "developer", "tool"):
            continue
        if role not in ("user", "assistant"):
            raise ValueError(f"history[{i}].role must be user or assistant, not {role!r}")
        text = _text_of(content)
        if text.strip():
            turns.append(Turn(role, text))
    return turns


def _text_of(content: object) -> str:
    """Message content as text: a string, or the text parts of an OpenAI content list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    raise ValueError(f"message content must be text, not {type(content).__name__}")


def recent(turns: Sequence[Turn], settings: ConversationSettings) -> list[Turn]:
    """The last `turns` messages, each cut to `turn_chars`, without citation markers (they
    number the sources of an earlier answer, not of this one)."""
    kept = list(turns)[-settings.turns :] if settings.turns else []
    out = []
    for turn in kept:
        text = " ".join(without_markers(turn.content).split())
        if len(text) > settings.turn_chars:
            text = text[: settings.turn_chars - 1].rstrip() + "…"
        out.append(Turn(turn.role, text))
    return out


def continued(
    history: Sequence[Mapping[str, str]], question: str, answer: str, settings: ConversationSettings
) -> list[dict[str, str]]:
    """The conversation with one more exchange, kept to the messages the next question reads."""
    messages = [*history, {"role": "user", "content": question}]
    messages.append({"role": "assistant", "content": answer})
    return [dict(m) for m in messages[-settings.turns :]] if settings.turns else []


def leans_on_conversation(question: str) -> bool:
    """True when the question points back into the conversation or is too short to stand
    alone; such a question is rewritten before retrieval."""
    words = _WORD.findall(question)
    return (
        len(words) < MIN_STANDALONE_WORDS
        or bool(_CONTINUES.match(question))
        or bool(_POINTS_BACK.search(question))
    )


def rewords(question: str, turns: Sequence[Turn], settings: ConversationSettings) -> bool:
    """Whether retrieval may read another question than the one written: one with a
    conversation before it, or one in another language (which the Condenser then rewrites
    or translates; an English question without turns is read as written, no model needed)."""
    return bool(turns) or (settings.translate and is_foreign(question))


def _rewrite_request(turns: Sequence[Turn], question: str) -> str:
    said = [f"{'User' if t.role == 'user' else 'Assistant'}: {t.content}" for t in turns]
    follow_up = " ".join(question.split())
    return "Conversation:\n" + "\n".join(said) + f"\n\nFollow-up: {follow_up}\n\n{REWRITE_ASK}"


def rewrite_messages(question: str, turns: Sequence[Turn]) -> list[dict[str, str]]:
    example_turns, example_question, example_answer = _EXAMPLE
    return [
        {"role": "system", "content": REWRITE_SYSTEM},
        {"role": "user", "content": _rewrite_request(example_turns, example_question)},
        {"role": "assistant", "content": example_answer},
        {"role": "user", "content": _rewrite_request(turns, question)},
    ]


def _cleaned(reply: str, question: str) -> str:
    """The first line of the reply without labels or quotes; the question itself when the
    reply is empty or runs far longer than a question would."""
    lines = [line for line in reply.strip().splitlines() if line.strip()]
    if not lines:
        return question
    text = re.sub(r"^(standalone question|question|user)\s*:\s*", "", lines[0], flags=re.I)
    text = text.strip().strip("\"'“”").strip()
    if not text or len(text) > 3 * len(question) + 200:
        return question
    return text


def _translate_request(question: str) -> str:
    return f"{TRANSLATE_ASK}\n\nQuestion: {' '.join(question.split())}"


def translate_messages(question: str) -> list[dict[str, str]]:
    example_question, example_answer = _TRANSLATE_EXAMPLE
    return [
        {"role": "system", "content": TRANSLATE_SYSTEM},
        {"role": "user", "content": _translate_request(example_question)},
        {"role": "assistant", "content": example_answer},
        {"role": "user", "content": _translate_request(question)},
    ]


class Condenser:
    """The question retrieval should use, given the conversation before it."""

    def __init__(self, generator: Generator, settings: ConversationSettings):
        self.generator = generator
        self.settings = settings

    def standalone(self, question: str, turns: Sequence[Turn]) -> str:
        mode = self.settings.rewrite
        earlier = recent(turns, self.settings)
        if mode == "off" or not any(t.role == "user" for t in earlier):
            return question
        if mode == "concat":
            asked = [t.content for t in earlier if t.role == "user"]
            return " ".join([*asked, question])
        if mode == "auto" and not leans_on_conversation(question):
            return question
        return self._reply(rewrite_messages(question, earlier), question)

    def english(self, question: str, found: Callable[[str], Sequence[str]]) -> str:
        """The question in English, where it is written in another language, translation is
        on, and the passages `found` for it as written (their texts) are mostly English;
        otherwise the question as it is."""
        if not self.settings.translate or not is_foreign(question):
            return question
        if mostly_foreign(found(question)):
            return question
        return self._reply(translate_messages(question), question)

    def _reply(self, messages: list[dict[str, str]], question: str) -> str:
        reply = "".join(self.generator.stream(messages, self.settings.rewrite_tokens, 0.0))
        return _cleaned(reply, question)
