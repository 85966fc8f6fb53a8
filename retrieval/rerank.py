"""Cross-encoder reranking: read question and passage together for a sharper final order."""

from __future__ import annotations

from collections.abc import Sequence

from indexing.core_parallel import CoreWorkers
from indexing.embedding import best_batch_size, best_device
from indexing.kernels import EncoderPrecision, encoder_precision
from indexing.models import load_once, resolve_model
from retrieval.cross_encoder import load_cross_encoder
from retrieval.windows import Pair, best_window_scores, focused_windows, half_windows, pair_length


class Reranker:
    """Any sentence-transformers CrossEncoder: a Hugging Face id or a local folder."""

    def __init__(
        self,
        model: str,
        device: str | None = None,
        batch_size: int | None = None,
        max_tokens: int = 256,
        dtype: EncoderPrecision = "auto",
        window_words: int | None = None,
        windows_read: int | None = None,
        setting: str = "retrieval.reranker",
        workers: int | None = None,
    ):
        self.name = model
        self.window_words = window_words
        self.windows_read = windows_read
        self.device = device or best_device()
        # None: the embedder's rule. The pruner's few dozen sentences a question, sorted by
        # length, in batches of 16 instead of 32 pad less and stay in cache: 0.92x the time
        # on two AVX-512-BF16 cores (bench/rerank_check_latency.py)
        self.batch_size = batch_size or best_batch_size(self.device)
        path = resolve_model(model, setting)
        self.precision = encoder_precision(self.device, dtype)
        self.model = load_once(
            ("cross-encoder", path, self.device, str(max_tokens), self.precision),
            setting,
            lambda: load_cross_encoder(path, self.device, max_tokens, setting, dtype),
        )
        # as the embedder's: a call of several batches computes them side by side, one per
        # physical core (rerank 50: 0.88-0.95x the time on two cores; the pruner's sentences
        # 0.93x; ten passages, one batch, split in two gained nothing: bench/README.md)
        self._cores = CoreWorkers.for_model(self.device, self.precision, workers)

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        """One score per passage: its best window's when `window_words` is set, else the score
        of its first `max_tokens` tokens."""
        windows = read_windows(query, passages, self.window_words, self.windows_read)
        return best_window_scores([[(query, w) for w in item] for item in windows], self._predict)

    def _predict(self, pairs: list[Pair]) -> list[float]:
        scores = self._cores.map_batches(
            self._predict_batch, pairs, self.batch_size, length=pair_length
        )
        return scores.tolist()

    def _predict_batch(self, pairs: list[Pair]) -> Sequence[float]:
        return self.model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False)


def read_windows(
    query: str, passages: Sequence[str], window_words: int | None, windows_read: int | None
) -> list[list[str]]:
    """What a reranker reads of each passage: the whole of it (None), or its half-overlapping
    `window_words`-word windows, only the `windows_read` richest in the query's terms (None:
    all of them)."""
    if window_words is None:
        return [[p] for p in passages]
    windows = [half_windows(p, window_words) for p in passages]
    if windows_read is None:
        return windows
    return focused_windows(query, windows, windows_read)
