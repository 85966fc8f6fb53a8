"""Plain-text and JSON views of answers and indexes, for the CLI."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from app.answer import Answer
from app.settings import Settings
from generation.answerability import load_gate
from generation.engines.factory import resolved_engine
from generation.injection import load_detector
from indexing.core_parallel import CoreWorkers
from indexing.documents import page_label
from indexing.embedding import best_device
from indexing.kernels import (
    BF16_FLAGS,
    VNNI_FLAGS,
    EncoderPrecision,
    cpu_flags,
    encoder_precision,
    generator_precision,
    llama_threads,
)
from indexing.reader import IndexReader


def sources_text(answer: Answer, streamed: str | None = None) -> str:
    """Sources, then the checker's verdict on each sentence, then stage timings. `streamed`:
    the text the terminal already shows, which the checks may have changed since (citations
    moved, a last line introducing nothing dropped), so the corrected answer comes first (a
    reader would otherwise look up a source not listed)."""
    if answer.abstained:
        if answer.withdrawn:
            return f"(withdrawn: {answer.withdrawn}, not from the sources)"
        if answer.missing:
            unnamed = ", ".join(answer.missing)
            return f"(no answer in the index; the passages found never name: {unnamed})"
        return "(no answer in the index)"
    lines = []
    if streamed is not None and answer.text != streamed.strip():
        if streamed.strip().startswith(answer.text):
            lines.append("(left out: its last line, which introduces nothing the sources give)\n")
        else:
            lines.append(f"Corrected: {answer.text}\n")
    lines.append("Sources:" if answer.citations else "(no sources cited)")
    for citation in answer.citations:
        p = citation.passage
        page = f", {page_label(p.pages)}" if p.pages else ""
        lines.append(
            f"  [{citation.number}] {p.title} - {p.doc_uri}{page} (chars {p.start}-{p.end})"
        )
    if answer.verdicts is not None:
        verdict = "grounded" if answer.grounded else "NOT grounded: check the marked sentences"
        lines.append(f"Checked ({verdict}):")
        for v in answer.verdicts:
            mark = "supported  " if v.supported else "UNSUPPORTED"
            backing = f" by [{v.passage}]" if v.supported and v.passage else ""
            why = "".join(f" ({reason})" for reason in v.reasons)
            lines.append(f"  {mark} {v.score:.2f}{backing}{why}: {_short(v.text)}")
    if answer.escalated:
        lines.append(f"Answered by {answer.model}: {answer.escalated}")
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in answer.timings.items())
    lines.append(f"({timings})")
    return "\n".join(lines)


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def answer_json(answer: Answer) -> dict[str, object]:
    """The whole answer as plain JSON types (scores may be numpy floats), for --json, the
    gradio API and the OpenAI endpoint alike."""
    fields = {**dataclasses.asdict(answer), "retrieved": answer.retrieved}
    return json.loads(json.dumps(fields, default=float))


def _folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def kernels_info(settings: Settings) -> str:
    """Which engine and number format each model gets here, and the CPU flags that decided it."""
    device = settings.generator.device or best_device()
    wanted = BF16_FLAGS | VNNI_FLAGS
    flags = sorted(wanted & cpu_flags()) or ["none of " + ", ".join(sorted(wanted))]
    gen = settings.generator
    engine = resolved_engine(gen)
    precision = "GGUF weights"
    if engine == "transformers":
        precision = generator_precision(device, gen.dtype)
    if engine == "llama_cpp":
        from generation.engines.llama_cpp_engine import build_features, unused_instruction_sets

        decoding, reading = llama_threads(gen.threads)
        precision += f", {decoding} threads decoding, {reading} reading"
        precision += f"; llama.cpp built for {', '.join(build_features())}"
        if unused := unused_instruction_sets(cpu_flags(), build_features()):
            precision += f"; not for this CPU's {', '.join(unused)}: `make llama` rebuilds it"
    emb = settings.embedder
    checker = settings.checker
    lines = [
        f"device:    {device} (bf16/int8 CPU flags: {', '.join(flags)})",
        f"generator: {gen.model} via {engine} ({precision})",
        f"embedder:  {emb.model} ({_encoder_format(emb.device, emb.dtype, emb.workers)})",
    ]
    ret = settings.retrieval
    if ret.reranker:
        rerank_format = _encoder_format(device, ret.rerank_format, ret.rerank_workers)
        lines.append(f"reranker:  {ret.reranker} ({rerank_format})")
    if gen.answerability:
        lines.append(f"gate:      {gen.answerability} ({_gate_fit(settings)})")
    if checker.model:
        checker_format = _encoder_format(checker.device, checker.dtype, checker.workers)
        lines.append(f"checker:   {checker.model} ({checker_format})")
    if detector := load_detector(settings.context.injection_detector):
        second = detector.second_opinion
        confirmed = f", what they flag confirmed with {second['embedder']}" if second else ""
        lines.append(f"guard:     {settings.context.injection_detector} (n-grams{confirmed})")
    if settings.large_generator is not None:
        large = settings.large_generator
        lines.append(f"large:     {large.model} via {resolved_engine(large)}")
    return "\n".join(lines)


def _encoder_format(device: str | None, dtype: EncoderPrecision, workers: int | None) -> str:
    """A small encoder's number format, and how many batches it computes side by side."""
    device = device or best_device()
    precision = encoder_precision(device, dtype)
    side_by_side = CoreWorkers.for_model(device, precision, workers).workers
    return precision + (f", {side_by_side} batches side by side" if side_by_side > 1 else "")


def _gate_fit(settings: Settings) -> str:
    """What the answerability gate was fitted on, or why it does not decide here."""
    gate = load_gate(settings.generator.answerability)
    reranker = settings.retrieval.reranker or None
    if not gate.fits(settings.generator.model, settings.embedder.model, reranker):
        return (
            f"fitted for {gate.generator} with {gate.reranker}: off for these models, "
            "the pruner's floor decides"
        )
    return f"fitted on the {gate.engine or 'unrecorded'} engine's signals"


def index_info(root: Path) -> str:
    reader = IndexReader.open(root)
    try:
        counts = reader.store.counts()
        meta = reader.meta
        size_mb = _folder_bytes(reader.version.path) / 1e6
        return "\n".join(
            [
                f"index:     {reader.root} (version {reader.version.number})",
                f"files:     {counts['files']}",
                f"documents: {counts['documents']}",
                f"chunks:    {counts['chunks']}",
                f"embedder:  {meta.get('embedder')} (dimension {meta.get('dimension')})",
                f"chunking:  {meta.get('chunk_tokens')} tokens, "
                f"{meta.get('overlap_tokens')} overlap",
                f"vectors:   {reader.vectors.size} in a {reader.vectors.kind} FAISS index",
                f"size:      {size_mb:.1f} MB",
            ]
        )
    finally:
        reader.close()
