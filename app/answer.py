"""What a question gets back: the answer, the passages it read and cites, the checker's
verdicts and the signals that decided it, whole or streamed as it is generated."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from generation.check import SentenceVerdict
from retrieval.passages import Passage


@dataclass(frozen=True)
class Citation:
    """Answer marker [number] and the passage it names."""

    number: int
    passage: Passage


@dataclass
class Answer:
    question: str
    text: str
    passages: list[Passage]  # what the generator read, numbered as the answer cites them
    citations: list[Citation]
    abstained: bool
    model: str
    index_version: int
    timings: dict[str, float] = field(default_factory=dict)
    verdicts: list[SentenceVerdict] | None = None  # None: no checker configured
    grounded: bool | None = None  # every sentence supported; None without a checker
    escalated: str | None = None  # why the large generator answered instead of the small one
    usage: dict[str, int] = field(default_factory=dict)  # prompt/completion tokens, summed
    # the document of each passage retrieval found, best first: whether the answer's document
    # was found at all, where `passages` tells whether the pruner kept it
    retrieved_docs: list[str] = field(default_factory=list)
    doubt: float | None = None  # the generator's probability of opening with the abstention
    # its log-odds of "No" over "Yes" when asked whether the sources state the answer (None
    # where the gate decided without it)
    refusal: float | None = None
    # the pruner's best sentence score (reranker scale) and the share of the question's content
    # words the sources it read name: with doubt and refusal, what the answerability gate weighs
    best: float | None = None
    coverage: float | None = None
    dense: float | None = None  # the best question-passage cosine retrieval found
    # the question as retrieval read it, when the conversation before it changed it
    standalone: str | None = None
    history_turns: int = 0  # earlier messages of the conversation the generator saw
    # with an abstention: the question's words that none of its passages (whole chunks) name
    missing: list[str] = field(default_factory=list)
    # why the generator's streamed answer was replaced by the abstention, if it was
    withdrawn: str | None = None

    @property
    def retrieved(self) -> int:
        """How many passages retrieval found; pruning may leave the generator fewer."""
        return len(self.retrieved_docs)


class AnswerStream:
    """Iterate for answer text as it is generated; `answer` is set once iteration ends.

    >>> stream = qa.ask_stream("What is a list comprehension?")
    >>> for piece in stream:
    ...     print(piece, end="")
    >>> stream.answer.citations
    """

    def __init__(
        self, pieces: Iterator[str], finish: Callable[[str], Answer], standalone: str | None = None
    ):
        self._pieces = pieces
        self._finish = finish
        self.answer: Answer | None = None
        self.standalone = standalone  # the rewritten question retrieval read, known at once
        self.streamed = ""  # the text the reader saw, which the checker may cite anew

    def __iter__(self) -> Iterator[str]:
        text = []
        for piece in self._pieces:
            text.append(piece)
            yield piece
        self.streamed = "".join(text)
        self.answer = self._finish(self.streamed)
