"""Judge each answer sentence against the passages with a small factuality model.

The default is our three-way NLI cross-encoder (`minigiant-checker`, from `minigiant train
checker-nli`); the feature model (`minigiant train checker`, generation/check_features.py) and
any sentence-transformers CrossEncoder that scores (evidence, claim) pairs, with one logit for
"supported" or an entailment class, work too. Long evidence is cut into overlapping windows for
cross-encoders and the best window counts, since support usually sits in one place. How an
answer is cut into sentences is generation/answer_sentences.py; citations re-pointed by the
verdicts, generation/recite.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from generation.answer_sentences import split_sentences, states_claim
from generation.citations import cited_numbers, without_markers
from generation.numbers import (
    NumberSwaps,
    SourceNumbers,
    list_markers,
    number_swaps,
    source_numbers,
    stated_numbers,
    unstated_numbers,
)
from generation.sentences import is_instruction, sentence_spans, table_cells, table_pieces
from indexing.core_parallel import CoreWorkers
from indexing.embedding import Embedder, best_device
from indexing.kernels import EncoderPrecision, encoder_precision
from indexing.models import load_once, resolve_model
from retrieval.cross_encoder import load_cross_encoder
from retrieval.windows import (
    best_window_scores,
    focused_windows,
    half_windows,
    named_share,
    pair_length,
    prefix_terms,
)

# why a sentence with `unnamed` set is unsupported, as the CLI and the web chat say it
UNNAMED = "the sources name few of its words"


class CheckerSettings(BaseModel):
    """The factuality checker; `model=None` turns checking off."""

    model: str | None = "minigiant-checker"
    threshold: float | None = Field(None, ge=0.0, le=1.0)  # None: the model's own, else 0.5
    window_words: int = Field(100, ge=16)
    # a passage longer than this (a document: retrieved chunks are ~150 words) is read in
    # windows of `long_window_words`, since a sentence summing up a long article restates one
    # spot of it. Balanced accuracy / ROC AUC at the shipped threshold on HaluEval's 600 news
    # summaries 0.554 / 0.597 -> 0.583 / 0.657; SciFact claims and MTRAG, whose passages stay
    # under 500 words but for 7 abstracts, unchanged, while a cut at 250-400 words lost up to
    # 0.04 on MTRAG. None: every passage in windows of `window_words`
    long_evidence_words: int | None = Field(500, ge=16)
    long_window_words: int = Field(60, ge=16)
    # a cross-encoder reads only the windows of each passage that share the most rare words
    # with the sentence (0: all of them): a 700-word article costs what a short one does
    windows_per_passage: int = Field(3, ge=0)
    # a sentence whose cited passages back it less than this is made to cite the passage that
    # backs it at least this much (in the finished answer; the streamed text keeps the
    # generator's markers): "meetings in Gaelic [2]" with [2] at 0.44 and [1] at 0.96 cites
    # [1]. Above the acceptance threshold: on 200 SQuAD answers, re-pointing on weaker support
    # moved about as many citations away from the gold passage as towards it. None: never
    recite_above: float | None = Field(0.5, ge=0.0, le=1.0)
    # a sentence stating a number (in digits) that no passage states, that the passages'
    # tables give only in another row than the one it reads, or that their prose gives only
    # for another subject than it names (generation/numbers.py), scores at most this,
    # whatever the model reads into it; None: no such rules
    unstated_number_score: float | None = Field(0.05, ge=0.0, le=1.0)
    # so does a sentence whose content words (stemmed, stopwords out) the passages name fewer
    # than this share of: it tells what they do not (outside knowledge, generic filler), however
    # plausible the model finds it. At 0.35, balanced accuracy at the shipped threshold: MTRAG
    # human faithfulness 0.798 -> 0.845 (0.35 was best on its dev half: 0.821 -> 0.883; test
    # half 0.775 -> 0.804), SciFact claims 0.561 -> 0.622, HaluEval 0.628 -> 0.630. None: off
    min_named_share: float | None = Field(0.35, ge=0.0, le=1.0)
    batch_size: int = Field(16, ge=1)  # small batches: less padding of short sentences
    # batches computed side by side (indexing/core_parallel.py); None: one per physical core
    # for torch on a CPU, 1.14x one batch at a time over both cores for a five-sentence answer
    # against five passages here
    workers: int | None = Field(None, ge=1)
    device: str | None = None
    # the cross-encoder's format, or the feature model's sentence embeddings' (auto:
    # indexing/kernels.py decides; int8 and openvino are CPU formats)
    dtype: EncoderPrecision = "auto"

    def window_words_for(self, evidence: str) -> int:
        """Finer windows for a document than for a retrieved chunk (long_evidence_words)."""
        long = (
            self.long_evidence_words is not None
            and len(evidence.split()) > self.long_evidence_words
        )
        return self.long_window_words if long else self.window_words


@dataclass(frozen=True)
class SentenceVerdict:
    """One answer sentence: where it is in the answer text, and whether the passages back it."""

    text: str
    start: int
    end: int
    supported: bool
    score: float
    passage: int | None  # 1-based number of the passage that supports it best
    # whether a passage the sentence cites supports it, and how well the best of them does
    # (None: it cites none)
    cited_supported: bool | None = None
    cited_score: float | None = None
    # the numbers it states that no passage does, as written (they cap its score)
    unstated: tuple[str, ...] = ()
    # the passages name few of its content words (min_named_share; that caps its score too)
    unnamed: bool = False
    # numbers it states that the passages' tables give only in another row than it reads
    other_rows: tuple[str, ...] = ()
    # the cells whose numbers it gives for a sibling column ("12:51 as low tide" for high tide)
    other_columns: tuple[str, ...] = ()
    # numbers the prose gives only for another subject, with the one it gives this subject
    # ("2011 for Newton, not 1998")
    other_subjects: tuple[str, ...] = ()

    @property
    def reasons(self) -> list[str]:
        """Why the rules capped its score, as the CLI and the web chat say it."""
        out = [f"no passage states {', '.join(self.unstated)}"] if self.unstated else []
        if self.other_rows:
            out.append(f"the tables give {', '.join(self.other_rows)} in another row")
        if self.other_columns:
            out.append(f"the tables give {', '.join(self.other_columns)}")
        if self.other_subjects:
            out.append(f"the sources give {'; '.join(self.other_subjects)}")
        return out + ([UNNAMED] if self.unnamed else [])


def strip_instructions(text: str) -> str:
    """The evidence without sentences that instruct the model (see sentences.INSTRUCTION);
    the line breaks between the others stay, so a table's rows are still rows."""
    kept = [(a, b) for a, b in sentence_spans(text) if not is_instruction(text[a:b])]
    out, last = "", None
    for a, b in kept:
        if last is not None:
            out += "\n" if "\n" in text[last:a] else " "
        out, last = out + text[a:b], b
    return out


def evidence_windows(evidence: str, words: int) -> list[str]:
    """Overlapping word windows of the evidence's prose, and each table row on its own (under
    its header row where its cells are unnamed, as in Markdown and Word tables). A window of
    several rows backed a value read off any of them: "high tide at Velmora on 2 March is
    06:12", the 1 March row's, scored 0.78 over a sheet's rows and 0.14 against the 2 March row."""
    prose, rows = [], []
    pieces = table_pieces(evidence)
    for k, piece in enumerate(pieces):
        if piece.header:  # a row under its table's first row; a separator ("|---|") says nothing
            if not _separator(piece.text):
                rows.append(f"{piece.header}\n{piece.text}")
        elif piece.fields is None:
            prose.append(piece.text)
        elif "|" not in piece.text:
            rows.append(piece.text)
        elif k + 1 == len(pieces) or pieces[k + 1].header != piece.text:
            prose.append(piece.text)  # a line with bars and no rows under it: no table
    return [*half_windows(" ".join(prose), words), *rows] if prose or not rows else rows


def _separator(row: str) -> bool:
    """A Markdown table's line under its header ("|---|:--:|")."""
    return not any(cell.strip("-: ") for cell in table_cells(row) or [])


class CrossEncoderScorer:
    """A cross-encoder with one logit (P(supported) by sigmoid) or an NLI head (P(supported)
    is the softmax share of its entailment class); long evidence is windowed and the best
    window counts."""

    def __init__(self, path: str, settings: CheckerSettings, device: str, setting: str):
        self.settings = settings
        self.model = load_once(
            ("cross-encoder", path, device, settings.dtype),
            setting,
            lambda: load_cross_encoder(path, device, 256, setting, precision=settings.dtype),
        )
        self.supported = supported_label(self.model.model.config.id2label, setting)
        precision = encoder_precision(device, settings.dtype)
        self._cores = CoreWorkers.for_model(device, precision, settings.workers)

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        keep = self.settings.windows_per_passage
        # each passage is cut once, though every sentence of the answer is read against it
        cut = {e: evidence_windows(e, self.settings.window_words_for(e)) for e, _ in pairs}
        windows = []
        for evidence, claim in pairs:
            pieces = cut[evidence]
            if keep and len(pieces) > keep:
                pieces = focused_windows(claim, [pieces], keep)[0]
            windows.append([(w, claim) for w in pieces])
        return best_window_scores(windows, self._predict)

    def _predict(self, flat: list[tuple[str, str]]) -> Sequence[float]:
        return self._cores.map_batches(
            self._predict_batch, flat, self.settings.batch_size, length=pair_length
        ).tolist()

    def _predict_batch(self, flat: list[tuple[str, str]]) -> Sequence[float]:
        import torch

        logits = self.model.predict(
            flat,
            batch_size=self.settings.batch_size,
            show_progress_bar=False,
            activation_fn=torch.nn.Identity(),
            convert_to_tensor=True,
        )
        if self.supported is None:
            return torch.sigmoid(logits.float().reshape(-1)).tolist()
        return torch.softmax(logits.float(), dim=-1)[:, self.supported].tolist()


def supported_label(id2label: dict[int, str], setting: str) -> int | None:
    """The output that means "supported": None for a one-logit model, else the class named
    entailment or support (NLI cross-encoders order their classes differently)."""
    if len(id2label) <= 1:
        return None
    for index, name in id2label.items():
        if name.lower().startswith(("entail", "support")):
            return int(index)
    raise ValueError(
        f"{setting}: a checker with several outputs needs one named entailment or supported, "
        f"not {sorted(id2label.values())}"
    )


def _own_threshold(path: str) -> float:
    """The threshold a minigiant-trained model chose on its dev split; 0.5 for others."""
    manifest = Path(path) / "minigiant.json"
    return (
        float(json.loads(manifest.read_text()).get("threshold", 0.5)) if manifest.exists() else 0.5
    )


def _feature_model(path: str) -> bool:
    manifest = Path(path) / "minigiant.json"
    return manifest.exists() and json.loads(manifest.read_text()).get("kind") == "features"


class FactChecker:
    """Per-sentence verdicts from a scorer: our feature model, or any cross-encoder."""

    def __init__(self, settings: CheckerSettings, setting: str = "checker.model"):
        if settings.model is None:
            raise ValueError("checker.model is not set")
        device = settings.device or best_device()
        path = resolve_model(settings.model, setting)
        if settings.threshold is None:
            settings = settings.model_copy(update={"threshold": _own_threshold(path)})
        self.settings = settings
        if _feature_model(path):
            from generation.check_features import FeatureScorer

            embedder = Embedder(
                "all-MiniLM-L6-v2",
                device=device,
                batch_size=settings.batch_size,
                workers=settings.workers,
                dtype=settings.dtype,
            )
            self._scorer = FeatureScorer(Path(path), embedder)
        else:
            self._scorer = CrossEncoderScorer(path, settings, device, setting)

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """P(supported) for (evidence, claim) pairs."""
        return self._scorer.score(pairs)

    def check(
        self, answer: str, passages: Sequence[str], whole: Sequence[str] | None = None
    ) -> list[SentenceVerdict]:
        """A verdict per sentence that states a claim, judged against every passage (cited
        ones first on ties). `whole`, the same passages as stored where `passages` are what
        the generator read of them: a sentence the read text does not back is judged again
        against them, since the source a user opens backs what it states, read or not (a
        model that knows the Python tutorial writes the sentence after the one it was given)."""
        spans = [(s, e) for s, e in split_sentences(answer) if states_claim(answer[s:e])]
        # every row as stored: a value may come from a row the pruner left out
        capped = self.settings.unstated_number_score is not None
        tables = source_numbers(passages if whole is None else whole) if capped else None
        verdicts = self._judge(answer, spans, passages, tables)
        if whole is None or list(whole) == list(passages):
            return verdicts
        again = [k for k, v in enumerate(verdicts) if not v.supported]
        second = self._judge(answer, [spans[k] for k in again], whole, tables) if again else []
        for k, verdict in zip(again, second, strict=True):
            verdicts[k] = max(verdicts[k], verdict, key=lambda v: v.score)
        return verdicts

    def _judge(
        self,
        answer: str,
        spans: Sequence[tuple[int, int]],
        passages: Sequence[str],
        tables: SourceNumbers | None,
    ) -> list[SentenceVerdict]:
        passages = [strip_instructions(p) for p in passages]
        claims = [without_markers(answer[s:e]) for s, e in spans]
        pairs = [(p, c) for c in claims for p in passages]
        scores = self.score(pairs) if passages else []
        cap = self.settings.unstated_number_score
        stated = stated_numbers(" ".join(passages)) if cap is not None else set()
        markers = list_markers(without_markers(answer)) if cap is not None else set()
        floor = self.settings.min_named_share if cap is not None else None
        named = prefix_terms(" ".join(passages)) if floor is not None else set()
        verdicts = []
        for k, ((start, end), claim) in enumerate(zip(spans, claims, strict=True)):
            row = scores[k * len(passages) : (k + 1) * len(passages)]
            unstated = tuple(unstated_numbers(claim, stated, markers)) if cap is not None else ()
            swaps = number_swaps(claim, tables, markers) if tables is not None else NumberSwaps()
            unnamed = floor is not None and named_share(claim, named) < floor
            if unstated or swaps or unnamed:
                row = [min(score, cap) for score in row]
            cited = [n for n in cited_numbers(answer[start:end]) if 1 <= n <= len(passages)]
            best = max(range(len(row)), key=lambda j: (row[j], j + 1 in cited), default=None)
            score = row[best] if best is not None else 0.0
            threshold = self.settings.threshold
            verdicts.append(
                SentenceVerdict(
                    text=answer[start:end],
                    start=start,
                    end=end,
                    supported=score >= threshold,
                    score=score,
                    passage=best + 1 if best is not None else None,
                    cited_supported=any(row[n - 1] >= threshold for n in cited) if cited else None,
                    cited_score=max(row[n - 1] for n in cited) if cited else None,
                    unstated=unstated,
                    unnamed=unnamed,
                    other_rows=swaps.other_rows,
                    other_columns=swaps.other_columns,
                    other_subjects=swaps.other_subjects,
                )
            )
        return verdicts


def answer_score(verdicts: Sequence[SentenceVerdict]) -> float:
    """An answer is as well supported as its weakest sentence; an empty one is not."""
    return min((v.score for v in verdicts), default=0.0)
