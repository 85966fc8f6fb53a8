"""Dense + lexical candidates, fused by RRF, optionally reranked: the retrieval pipeline."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from indexing.documents import titled
from indexing.embedding import Embedder
from indexing.kernels import EncoderPrecision
from indexing.reader import IndexReader
from indexing.store import StoredChunk
from retrieval.dense import DenseRetriever
from retrieval.fusion import blend_scores, reciprocal_rank_fusion
from retrieval.lexical import LexicalRetriever
from retrieval.near_copies import Said, wording
from retrieval.passages import Passage
from retrieval.rerank import Reranker


class RetrievalOptions(BaseModel):
    """Candidate depths per stage; `reranker` is a CrossEncoder id or folder, None for off."""

    dense_k: int = Field(50, ge=0, le=1000)
    lexical_k: int = Field(50, ge=0, le=1000)
    # a query term in more than this share of the chunks, and in more than lexical_common_rows
    # of them, is left out of the lexical query (retrieval/lexical.py): 1.0 reads every term.
    # SciFact test with the rule forced on its 12k chunks: hybrid + rerank nDCG@10 0.731 ->
    # 0.732 at 0.2 (0.728 at 0.1), while lexical search at 100k chunks takes half the time
    lexical_common_share: float = Field(0.2, gt=0.0, le=1.0)
    lexical_common_rows: int = Field(2000, ge=0)
    rrf_k: int = Field(60, ge=0)
    # ours (retrieval/models/reranker/README.md): on SciFact test, blended into the top 10,
    # hybrid nDCG@10 0.725 -> 0.732 for ~0.2 s per query on two CPU cores
    reranker: str | None = "minigiant-reranker"
    rerank_k: int = Field(10, ge=0, le=1000)
    # "replace": the reranker's order wins; "rrf": its ranking is fused with the hybrid one;
    # "blend": scaled scores are mixed, rerank_weight on the reranker's side. Fusing keeps a
    # weak or out-of-domain reranker from undoing good first-stage ranks
    rerank_mode: Literal["replace", "rrf", "blend"] = "blend"
    rerank_weight: float = Field(0.2, ge=0.0, le=1.0)
    rerank_tokens: int = Field(256, ge=16, le=512)  # query + passage, truncated: cost is linear
    # read passages in half-overlapping windows of this many words, the best one counting
    # (None: only the first rerank_tokens)...
    rerank_window_words: int | None = Field(30, ge=16, le=400)
    # ...and only the rerank_windows_read windows richest in the query's rarer terms (None:
    # all of them). On SciFact test one 30-word window per passage ranks as well as every
    # 70-word window did, at about a quarter of the tokens (README)
    rerank_windows_read: int | None = Field(1, ge=1)
    rerank_int8: bool = False  # CPU only: dynamic int8 Linear layers (rerank_dtype = "int8")
    rerank_dtype: EncoderPrecision = "auto"  # otherwise: indexing/kernels.py decides
    # batches computed side by side (indexing/core_parallel.py); None: one per physical core
    rerank_workers: int | None = Field(None, ge=1)
    top_n: int = Field(5, ge=1, le=100)
    # a candidate whose runs of three words are at least this share in better-ranked ones is a
    # copy and gives its place to the next (retrieval/near_copies.py: an HTML page and its
    # reST source, a PDF and its Word file); None: only texts equal word for word
    copy_share: float | None = Field(0.7, gt=0.0, le=1.0)
    # IVF lists searched per query (flat indexes ignore it): recall against speed
    nprobe: int = Field(16, ge=1, le=65536)
    # map the FAISS file instead of reading it: an IVF index then costs page cache, not heap
    mmap: bool = False

    @property
    def rerank_format(self) -> EncoderPrecision:
        """The reranker's format as set: rerank_int8 is shorthand for rerank_dtype = "int8"."""
        return "int8" if self.rerank_int8 else self.rerank_dtype

    @model_validator(mode="after")
    def _some_candidates(self) -> RetrievalOptions:
        if self.dense_k == 0 and self.lexical_k == 0:
            raise ValueError("dense_k and lexical_k cannot both be 0")
        return self


def load_reranker(options: RetrievalOptions, device: str | None) -> Reranker | None:
    """The reranker these options name, loaded once per process; None when it is off."""
    if not options.reranker:
        return None
    return Reranker(
        options.reranker,
        device,
        max_tokens=options.rerank_tokens,
        dtype=options.rerank_format,
        window_words=options.rerank_window_words,
        windows_read=options.rerank_windows_read,
        workers=options.rerank_workers,
    )


class HybridRetriever:
    """Each stage's score stays on the passage, so the UI and eval can show a hit's origin."""

    def __init__(
        self,
        reader: IndexReader,
        embedder: Embedder,
        options: RetrievalOptions,
        reranker: Reranker | None = None,
    ):
        self.reader = reader
        self.dense = DenseRetriever(reader.vectors, embedder)
        self.lexical = LexicalRetriever(
            reader.store, options.lexical_common_share, options.lexical_common_rows
        )
        self.options = options
        self.reranker = reranker
        # the dense side (embedding, FAISS) runs beside the lexical one: both release the GIL,
        # so a query waits for the slower of the two instead of their sum (bench/README.md)
        self._dense_worker = ThreadPoolExecutor(1, thread_name_prefix="dense-search")

    def retrieve(
        self,
        query: str,
        top_n: int | None = None,
        rerank: bool = True,
        timings: dict[str, float] | None = None,
    ) -> list[Passage]:
        """Best `top_n` passages; stage durations in seconds go into `timings` when given."""
        timings = {} if timings is None else timings
        started = time.perf_counter()
        opts = self.options
        top_n = opts.top_n if top_n is None else top_n
        dense_hits = self._dense_worker.submit(self.dense.search, query, opts.dense_k)
        lexical = dict(self.lexical.search(query, opts.lexical_k))
        dense = dict(dense_hits.result())
        fused = reciprocal_rank_fusion({"dense": list(dense), "lexical": list(lexical)}, opts.rrf_k)
        use_reranker = rerank and self.reranker is not None and opts.rerank_k > 0
        keep = max(top_n, opts.rerank_k) if use_reranker else top_n
        fused, stored = self._distinct(fused, keep)
        passages = []
        for chunk_id, score in fused:
            chunk = stored[chunk_id]
            scores = {"fused": score}
            if chunk_id in dense:
                scores["dense"] = dense[chunk_id]
            if chunk_id in lexical:
                scores["lexical"] = lexical[chunk_id]
            passages.append(
                Passage(
                    chunk_id,
                    chunk.doc_uri,
                    chunk.source,
                    chunk.title,
                    chunk.text,
                    chunk.start,
                    chunk.end,
                    scores,
                    pages=chunk.pages,
                    ocr=chunk.ocr,
                )
            )
        timings["retrieve"] = time.perf_counter() - started
        if use_reranker and passages:
            started = time.perf_counter()
            head = passages[: opts.rerank_k]
            for passage, score in zip(
                head,
                self.reranker.score(query, [titled(p.title, p.text) for p in head]),
                strict=True,
            ):
                passage.scores["rerank"] = score
            reranked = sorted(head, key=lambda p: -p.scores["rerank"])
            if opts.rerank_mode == "rrf":
                order = reciprocal_rank_fusion(
                    {
                        "hybrid": [p.chunk_id for p in head],
                        "rerank": [p.chunk_id for p in reranked],
                    },
                    opts.rrf_k,
                )
                by_id = {p.chunk_id: p for p in head}
                reranked = [by_id[chunk_id] for chunk_id, _ in order]
            elif opts.rerank_mode == "blend":
                mixed = blend_scores(
                    [p.scores["fused"] for p in head],
                    [p.scores["rerank"] for p in head],
                    opts.rerank_weight,
                )
                for passage, score in zip(head, mixed, strict=True):
                    passage.scores["blend"] = score
                reranked = sorted(head, key=lambda p: -p.scores["blend"])
            passages = reranked + passages[opts.rerank_k :]
            timings["rerank"] = time.perf_counter() - started
        return passages[:top_n]

    def _distinct(
        self, fused: list[tuple[int, float]], keep: int
    ) -> tuple[list[tuple[int, float]], dict[int, StoredChunk]]:
        """The best `keep` candidates that are not copies of better-ranked ones, with their
        stored chunks. A copied file, a document saved in two formats or boilerplate repeated
        across pages would otherwise fill several of the few places the generator reads with
        one text; the best-ranked copy stays. Chunks are fetched `keep` at a time: without
        copies, one fetch as before."""
        share = self.options.copy_share
        kept: list[tuple[int, float]] = []
        stored: dict[int, StoredChunk] = {}
        seen: set[str] = set()
        said = Said()
        for start in range(0, len(fused), keep):
            batch = fused[start : start + keep]
            chunks = self.reader.store.chunks(i for i, _ in batch)
            for chunk_id, score in batch:
                text = " ".join(chunks[chunk_id].text.split())
                words = wording(text)
                if text in seen or (share is not None and said.repeats(words, share)):
                    continue
                seen.add(text)
                said.add(words)
                kept.append((chunk_id, score))
                stored[chunk_id] = chunks[chunk_id]
            if len(kept) >= keep:
                break
        return kept[:keep], stored
