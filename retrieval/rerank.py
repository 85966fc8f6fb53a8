"""Cross-encoder reranking: read question and passage together for a sharper final order."""

from __future__ import annotations

from collections.abc import Sequence

from indexing.embedding import best_device
from indexing.models import load_once, resolve_model
from retrieval.cross_encoder import load_cross_encoder


class Reranker:
    """Any sentence-transformers CrossEncoder: a Hugging Face id or a local folder."""

    def __init__(
        self,
        model: str,
        device: str | None = None,
        batch_size: int = 32,
        max_tokens: int = 256,
        int8: bool = False,
        setting: str = "retrieval.reranker",
    ):
        self.name = model
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
        if not passages:
            return []
        scores = self.model.predict(
            [(query, p) for p in passages], batch_size=self.batch_size, show_progress_bar=False
        )
        return [float(s) for s in scores]
