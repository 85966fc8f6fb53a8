"""The question-answering pipeline object behind the CLI, the web app and the Python API."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from app.answer import Answer, AnswerStream, Citation
from app.settings import Settings
from generation.answer_sentences import without_dangling_intro
from generation.answerability import (
    AnswerabilityGate,
    GateSignals,
    best_dense,
    load_gate,
    missing_words,
    question_coverage,
    read_refusal,
)
from generation.attribution import SentenceAttributor
from generation.check import FactChecker, SentenceVerdict
from generation.citations import CitationFilter, cited_numbers, merged_repeats
from generation.condense import Condenser, Turn, recent, rewords, rewrite_messages, turns_from
from generation.engines import Generator, GeneratorSettings, import_engine, make_generator
from generation.prompt import (
    ABSTAIN,
    borrowed_names,
    build_messages,
    fit_to_context,
    is_abstention,
)
from generation.prune import prune_passages, sentence_scorer
from generation.recite import recite
from indexing.documents import titled
from indexing.embedding import Embedder
from indexing.errors import MinigiantError
from indexing.index_dir import IndexDir
from indexing.reader import IndexReader
from retrieval.hybrid import HybridRetriever, load_reranker
from retrieval.passages import Passage

log = logging.getLogger(__name__)

MAX_TOP_N = 100


History = Iterable[Turn | Mapping[str, object]]


@dataclass
class _Run:
    """What one question accumulates on its way through the generators."""

    question: str
    passages: list[Passage]
    timings: dict[str, float]
    model: str
    history: list[Turn] = field(default_factory=list)
    typed: str = ""  # the question as the user wrote it, before a follow-up's rewrite
    # no passage sentence scores the pruner's floor: abstain without generating, unless a
    # gate fitted for the generator decides (it weighs that best score itself)
    below_floor: bool = False
    best: float | None = None  # the pruner's best sentence score (reranker scale), if it ran
    coverage: float | None = None  # the question's words the pruned passages name, if gated
    dense: float = 0.0  # the best question-passage cosine of dense search (answerability.py)
    escalated: str | None = None
    verdicts: dict[str, list[SentenceVerdict]] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)
    doubt: float | None = None
    refusal: float | None = None

    def add_usage(self, usage: dict[str, int]) -> None:
        """Counts summed over the generators that answered (a cascade's two)."""
        for key, value in usage.items():
            self.usage[key] = self.usage.get(key, 0) + value

    def evidence(self) -> list[str]:
        """What the checker reads of each passage: its title and what the generator read."""
        return [titled(p.title, p.read_text) for p in self.passages]

    def sources(self) -> list[str]:
        """Each passage whole, as the user opens it: what the checker reads where the
        evidence does not back a sentence."""
        return [titled(p.title, p.text) for p in self.passages]

    def borrowed(self, text: str) -> str | None:
        """Why `text` comes from the prompt's worked examples ("named X, Y from the prompt's
        examples": two or more of their names that neither the question, typed and rewritten,
        the conversation nor the sources state), or None."""
        stated = [self.typed, self.question, *(t.content for t in self.history), *self.evidence()]
        names = borrowed_names(text, stated)
        return f"named {', '.join(names)} from the prompt's examples" if names else None

    def signals(self) -> GateSignals | None:
        """What the gate weighs, once the doubt is read (the refusal None until it is, or
        where the gate decides without it); None where the pruner gave no best score."""
        if self.doubt is None or self.best is None or self.coverage is None:
            return None
        return GateSignals(self.doubt, self.best, self.refusal, self.coverage, self.dense)


def _doubtful(run: _Run, abstain_above: float | None, gate: AnswerabilityGate | None) -> bool:
    assert run.doubt is not None
    if abstain_above is not None and run.doubt >= abstain_above:
        return True
    signals = run.signals()
    return gate is not None and signals is not None and not gate.answers(signals)


class QA:
    """Open once, ask many times; safe to share between threads."""

    def __init__(self, settings: Settings, preload_generator: bool = False):
        """`preload_generator`: load the generator in a thread while the small models load
        (a one-question process, as `minigiant ask`, then waits for neither in turn)."""
        self.settings = settings
        self.reader = self._open_reader()
        self.reader.check_embedder(settings.embedder.model)
        self._generator: Generator | None = None
        self._large_generator: Generator | None = None
        self._condenser: Condenser | None = None
        self._reload_lock = threading.Lock()
        if preload_generator:
            import_engine(settings.generator)
            with ThreadPoolExecutor(1, thread_name_prefix="generator-load") as pool:
                loading = pool.submit(make_generator, settings.generator)
                self._init_small_models()
            self._generator = loading.result()
        else:
            self._init_small_models()

    def _init_small_models(self) -> None:
        settings = self.settings
        self.embedder = Embedder.from_settings(settings.embedder)
        reranker = load_reranker(settings.retrieval, settings.embedder.device)
        self.retriever = HybridRetriever(self.reader, self.embedder, settings.retrieval, reranker)
        self.checker = FactChecker(settings.checker) if settings.checker.model else None
        self._sentence_scorer = sentence_scorer(reranker, self.embedder)

    @classmethod
    def open(cls, index: str | Path | None = None, settings: Settings | None = None) -> QA:
        settings = settings or Settings()
        if index is not None:
            settings = settings.model_copy(update={"index": Path(index)})
        return cls(settings)

    @property
    def generator(self) -> Generator:
        """Loaded on first use, so retrieval-only callers (eval, indexing) never pay for it."""
        if self._generator is None:
            self._generator = make_generator(self.settings.generator)
        return self._generator

    def warm_up(self) -> None:
        """Load every model and run each once, so the first question waits for neither: a
        model's first call sets up its kernels, and the generators keep the prompt's fixed
        part (instructions, worked examples) cached for every question after it."""
        self.retriever.retrieve("warm-up question")
        passage = Passage(0, "", "", "Warm-up", "This passage warms the models up.", 0, 33)
        messages = build_messages("What does this passage do?", [passage])
        generators = [(self.generator, self.settings.generator)]
        if self.settings.large_generator is not None:
            generators.append((self._large(), self.settings.large_generator))
        for generator, settings in generators:
            for _ in generator.stream(messages, 2, settings.temperature):
                pass
        if self.settings.conversation.rewrite in ("auto", "always"):
            # the rewrite's prompt, then the answer's again: the engine keeps the rewrite's
            # cached beside the answer's (the first read, from disk where kept), so a
            # conversation's first follow-up reads neither's instructions
            rewrite = rewrite_messages("and then?", [Turn("user", "What does it do?")])
            for chat, temperature in (
                (rewrite, 0.0),
                (messages, self.settings.generator.temperature),
            ):
                for _ in self.generator.stream(chat, 2, temperature):
                    pass
        if self.checker is not None:
            self.checker.check("This passage warms the models up.", [passage.text])

    def reload(self) -> bool:
        """Switch to the newest published index version; True if there was a newer one.

        Questions already running finish on the version they started with.
        """
        with self._reload_lock:
            if IndexDir(self.settings.index).current().number == self.reader.version.number:
                return False
            reader = self._open_reader()
            reader.check_embedder(self.settings.embedder.model)
            retriever = HybridRetriever(
                reader, self.embedder, self.settings.retrieval, self.retriever.reranker
            )
            self.reader, self.retriever = reader, retriever
            return True

    def _open_reader(self) -> IndexReader:
        opts = self.settings.retrieval
        return IndexReader.open(self.settings.index, nprobe=opts.nprobe, mmap=opts.mmap)

    def retrieve(
        self, question: str, top_n: int | None = None, rerank: bool = True
    ) -> list[Passage]:
        return self.retriever.retrieve(self._checked(question), top_n=top_n, rerank=rerank)

    def ask(self, question: str, **options: object) -> Answer:
        stream = self.ask_stream(question, **options)
        for _ in stream:
            pass
        assert stream.answer is not None
        return stream.answer

    def ask_stream(
        self,
        question: str,
        top_n: int | None = None,
        rerank: bool = True,
        temperature: float | None = None,
        history: History | None = None,
    ) -> AnswerStream:
        """Answer `question`; with `history` (the conversation before it, OpenAI-style
        messages with role and content, oldest first) a follow-up is first rewritten into a
        standalone question, and the generator sees the recent turns too."""
        question = self._checked(question)
        gen = self.settings.generator
        temperature = gen.temperature if temperature is None else temperature
        if top_n is not None and not 1 <= top_n <= MAX_TOP_N:
            raise MinigiantError(f"top_n must be between 1 and {MAX_TOP_N}, got {top_n}")
        if not 0.0 <= temperature <= 2.0:
            raise MinigiantError(f"temperature must be between 0 and 2, got {temperature}")
        timings: dict[str, float] = {}
        started = time.perf_counter()
        retriever = self.retriever  # one version for the whole question, even across reload()
        run, retrieved = self._prepare(question, history, retriever, top_n, rerank, timings)
        passages, earlier = run.passages, run.history
        standalone = run.question if run.question != question else None

        def pieces() -> Iterator[str]:
            for i, piece in enumerate(self._answer_pieces(run, temperature)):
                if i == 0:
                    timings["first_token"] = time.perf_counter() - started
                yield piece

        def finish(text: str) -> Answer:
            text = merged_repeats(without_dangling_intro(text.strip()))
            abstained = is_abstention(text) or not text
            borrowed = None if abstained else run.borrowed(text)
            withdrawn = None
            if borrowed:
                withdrawn = f"it {borrowed}"
                text, abstained = ABSTAIN, True
            verdicts = None if abstained else self._verdicts(run, text)
            above = self.settings.checker.recite_above
            if verdicts and above is not None:
                text, verdicts = recite(text, verdicts, above, run.sources())
            timings["total"] = time.perf_counter() - started
            return Answer(
                question=question,
                text=text,
                passages=passages,
                citations=[Citation(n, passages[n - 1]) for n in cited_numbers(text)],
                abstained=abstained,
                model=run.model,
                index_version=retriever.reader.version.number,
                timings=timings,
                verdicts=verdicts,
                grounded=None if verdicts is None else all(v.supported for v in verdicts),
                escalated=run.escalated,
                usage=run.usage,
                retrieved_docs=retrieved,
                doubt=run.doubt,
                refusal=run.refusal,
                best=run.best,
                coverage=run.coverage,
                dense=run.dense,
                standalone=standalone,
                history_turns=len(earlier),
                missing=missing_words(run.question, passages) if abstained and passages else [],
                withdrawn=withdrawn,
            )

        return AnswerStream(pieces(), finish, standalone)

    def gate_signals(self, question: str, history: History | None = None) -> GateSignals | None:
        """The answerability gate's signals for `question`, read as ask() reads them but the
        refusal always (what `minigiant train answerability` fits on); None where nothing is
        left to read or the engine gives no probabilities."""
        run, _ = self._prepare(self._checked(question), history, self.retriever, None, True, {})
        if not run.passages or run.best is None:
            return None
        messages = build_messages(run.question, run.passages, run.history)
        doubt = self.generator.opening_probabilities(messages, [ABSTAIN])
        refusal = read_refusal(self.generator, run.question, run.passages, run.history)
        if doubt is None or refusal is None:
            return None
        coverage = question_coverage(run.question, [p.read_text for p in run.passages])
        return GateSignals(doubt[0], run.best, refusal, coverage, run.dense)

    def _prepare(
        self,
        question: str,
        history: History | None,
        retriever: HybridRetriever,
        top_n: int | None,
        rerank: bool,
        timings: dict[str, float],
    ) -> tuple[_Run, list[str]]:
        """The question as retrieval reads it (a follow-up rewritten) with the pruned passages
        the generator will read, and the documents of the passages retrieval found."""
        gen = self.settings.generator
        started = time.perf_counter()
        turns = turns_from(history)
        asked = question
        if rewords(question, turns, self.settings.conversation):
            if self._condenser is None:  # the generator is loaded on first use
                self._condenser = Condenser(self.generator, self.settings.conversation)
            asked = self._condenser.english(
                self._condenser.standalone(question, turns),
                lambda text: [p.text for p in retriever.retrieve(text, rerank=False)],
            )
            timings["condense"] = time.perf_counter() - started
        earlier = recent(turns, self.settings.conversation)
        passages = retriever.retrieve(asked, top_n=top_n, rerank=rerank, timings=timings)
        retrieved, dense = [p.doc_uri for p in passages], best_dense(passages)
        passages, best, below_floor = self.pruned(asked, passages, timings)
        passages = fit_to_context(asked, passages, earlier, gen.context_tokens - gen.max_tokens)
        run = _Run(
            asked,
            passages,
            timings,
            gen.model,
            history=earlier,
            typed=question,
            dense=dense,
            below_floor=below_floor,
            best=best,
        )
        return run, retrieved

    def pruned(
        self, question: str, passages: list[Passage], timings: dict[str, float]
    ) -> tuple[list[Passage], float | None, bool]:
        """The context the generator reads, its best sentence's score on the reranker's scale
        (None without pruning or a reranker), and whether that is under the pruner's floor
        (`context.abstain_below`), which stops the question where no gate decides."""
        context = self.settings.context
        if not context.prune or not passages:
            return passages, None, False
        begun = time.perf_counter()
        pruned = prune_passages(question, passages, self._sentence_scorer, context)
        timings["prune"] = time.perf_counter() - begun
        if self.retriever.reranker is None:
            return pruned.passages, None, False
        best = pruned.best_score or 0.0
        floor = context.abstain_below
        return pruned.passages, best, floor is not None and best < floor

    def _answer_pieces(self, run: _Run, temperature: float) -> Iterator[str]:
        """The answer text; with a large generator configured, the small one answers first and
        its answer is kept only if it does not abstain and the checker accepts every sentence."""
        if not run.passages:
            yield ABSTAIN
            return
        large = self.settings.large_generator
        if large is None:
            yield from self._generate(self.generator, self.settings.generator, run, temperature)
            return
        small_text = "".join(
            self._generate(self.generator, self.settings.generator, run, temperature)
        ).strip()
        run.escalated = self._escalation_reason(run, small_text)
        if run.escalated is None:
            yield small_text
            return
        run.model = large.model
        yield from self._generate(self._large(), large, run, temperature)

    def _large(self) -> Generator:
        if self._large_generator is None:
            assert self.settings.large_generator is not None
            self._large_generator = make_generator(self.settings.large_generator)
        return self._large_generator

    def _generate(
        self, generator: Generator, settings: GeneratorSettings, run: _Run, temperature: float
    ) -> Iterator[str]:
        """Stream one generator's answer through the citation checks, or the abstention when
        its own doubt says the sources do not answer (`abstain_above`, `answerability`)."""
        begun = time.perf_counter()
        messages = build_messages(run.question, run.passages, run.history)
        gate = self._gate(settings)
        if run.below_floor and gate is None:
            # the floor stands in for a gate: with one, 8 seeded SQuAD questions it stopped had
            # their answer in the sources and 6 were answered right, while the gate abstained
            # on every CLAPNQ question it stopped (README, the answerability gate)
            yield ABSTAIN
            return
        if gate is not None and run.best is not None:
            run.coverage = question_coverage(run.question, [p.read_text for p in run.passages])
        # the first reading of the prompt says what of it came from a kept state; the answer
        # after the gate's reading starts from that reading
        first: dict[str, int] = {}
        if settings.abstain_above is not None or gate is not None:
            doubt = generator.opening_probabilities(messages, [ABSTAIN], first)
            run.doubt = None if doubt is None else doubt[0]
            signals = run.signals()
            if gate is not None and signals is not None and gate.needs_refusal(signals):
                run.refusal = read_refusal(generator, run.question, run.passages, run.history)
            run.timings["doubt"] = time.perf_counter() - begun
            if run.doubt is not None and _doubtful(run, settings.abstain_above, gate):
                run.add_usage(first)
                yield ABSTAIN
                return
        citations = CitationFilter(len(run.passages))
        attributor = SentenceAttributor([p.read_text for p in run.passages])
        usage: dict[str, int] = {}
        for piece in generator.stream(messages, settings.max_tokens, temperature, usage):
            out = attributor.feed(citations.feed(piece))
            if out:
                yield out
        run.add_usage({**usage, **first})
        tail = attributor.feed(citations.flush()) + attributor.flush()
        if tail:
            yield tail
        run.timings["generate"] = run.timings.get("generate", 0.0) + time.perf_counter() - begun

    def _gate(self, settings: GeneratorSettings) -> AnswerabilityGate | None:
        """The answerability gate, where it was fitted for this generator and reranker."""
        gate = load_gate(settings.answerability)
        reranker = self.retriever.reranker
        fitted = gate is not None and gate.fits(
            settings.model, self.settings.embedder.model, reranker and reranker.name
        )
        return gate if fitted else None

    def _escalation_reason(self, run: _Run, text: str) -> str | None:
        if is_abstention(text) or not text:
            return "the small generator abstained"
        borrowed = run.borrowed(text)
        if borrowed:
            return f"the small generator {borrowed}"
        verdicts = self._verdicts(run, text)
        unsupported = sum(1 for v in verdicts or [] if not v.supported)
        return f"the checker rejected {unsupported} sentence(s)" if unsupported else None

    def _verdicts(self, run: _Run, text: str) -> list[SentenceVerdict] | None:
        """Checker verdicts for `text`, computed once per text."""
        if self.checker is None:
            return None
        if text not in run.verdicts:
            begun = time.perf_counter()
            run.verdicts[text] = self.checker.check(text, run.evidence(), run.sources())
            run.timings["check"] = run.timings.get("check", 0.0) + time.perf_counter() - begun
        return run.verdicts[text]

    def _checked(self, question: str) -> str:
        if question is not None and not isinstance(question, str):
            # a chain that passes its whole input dict along would otherwise fail deep inside
            raise MinigiantError(f"the question must be text, not {type(question).__name__}")
        question = (question or "").strip()
        if not question:
            raise MinigiantError("the question is empty")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise MinigiantError(
                f"the question has {len(question)} characters; the limit is {limit} "
                f"(max_question_chars)"
            )
        return question

    def close(self) -> None:
        self.reader.close()
