"""Cross-encoder reranking: read question and passage together for a sharper final order."""

from __future__ import annotations

from collections.abc import Sequence

from indexing.embedding import best_device
from indexing.models import load_once, resolve_model
from retrieval.cross_encoder import load_cross_encoder
from retrieval.windows import best_window_scores, word_windows

# a sentence or so (SciFact's run ~25 words): what one window cuts, the next holds whole
WINDOW_OVERLAP = 20


class Reranker:
    """Any sentence-transformers CrossEncoder: a Hugging Face id or a local folder."""

    def __init__(
        self,
        model: str,
        device: str | None = None,
        batch_size: int = 32,
        max_tokens: int = 256,
        int8: bool = False,
        window_words: int | None = None,
        setting: str = "retrieval.reranker",
    ):
        self.name = model
        self.window_words = window_words
        self.device = device or best_device()
        self.batch_size = batch_size
        path = resolve_model(model, setting)
        int8 = int8 and self.device == "cpu"
        self.model = load_once(
            ("cross-encoder", path, self.device, str(max_tokens), "int8" if int8 else ""),
            setting,
            lambda: load_cross_encoder(path, self.device, max_tokens, setting, int8),
        )

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        """One score per passage: its best window's when `window_words` is set, else the
        score of its first `max_tokens` tokens."""
        return best_window_scores(
            [(query, p) for p in passages],
            self._windows,
            lambda pairs: self.model.predict(
                pairs, batch_size=self.batch_size, show_progress_bar=False
            ),
        )

    def _windows(self, pair: tuple[str, str]) -> list[tuple[str, str]]:
        query, passage = pair
        if self.window_words is None:
            return [pair]
        return [(query, w) for w in word_windows(passage, self.window_words, WINDOW_OVERLAP)]
