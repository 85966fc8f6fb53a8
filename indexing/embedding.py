"""Sentence embeddings for passages and queries, in the number format the machine runs best
(indexing/kernels.py: fp16 on CUDA, bf16 on CPUs with AMX or AVX-512-BF16, else fp32, on
OpenVINO's kernels where it is installed)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from indexing.core_parallel import CoreWorkers
from indexing.kernels import EncoderPrecision, encoder_precision, quantize_int8, torch_dtype
from indexing.models import load_once, resolve_model
from indexing.openvino_kernels import run_on_openvino

log = logging.getLogger(__name__)


def best_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def best_batch_size(device: str) -> int:
    """Texts per forward pass: a GPU wants wide batches to fill it, while on a CPU 16 texts'
    activations stay in cache (64 ran 0.89x as fast in bf16 and fp32 on two cores,
    bench/embedder_kernels.py --batch-sizes)."""
    return 16 if device == "cpu" else 64


class EmbedderSettings(BaseModel):
    """Which embedder builds and queries an index; changing `model` needs a new index."""

    model: str = "all-MiniLM-L6-v2"
    device: str | None = None
    batch_size: int | None = Field(None, ge=1)  # None: best_batch_size for the device
    # batches computed side by side (indexing/core_parallel.py); None: one per physical core
    # for torch on a CPU, 1.08-1.13x one batch at a time over both cores when indexing here
    workers: int | None = Field(None, ge=1)
    query_prefix: str = ""
    passage_prefix: str = ""
    # auto: indexing/kernels.py decides from the hardware. bf16 vectors keep cosine >= 0.998
    # to fp32 ones, so an index built in one format answers queries embedded in the other;
    # int8 (CPU) embeds 1.3x faster than fp32 without bf16 instructions, at SciFact nDCG@10
    # -0.008 (bench/README.md)
    dtype: EncoderPrecision = "auto"


class Embedder:
    """A sentence-transformers model that returns L2-normalised float32 vectors.

    Normalised vectors make FAISS inner product equal cosine similarity. Models trained with
    instructions (e5, bge) take `query_prefix` / `passage_prefix`.

    >>> emb = Embedder("all-MiniLM-L6-v2")
    >>> emb.embed_queries(["what is faiss?"]).shape
    (1, 384)
    """

    def __init__(
        self,
        model: str = "all-MiniLM-L6-v2",
        device: str | None = None,
        batch_size: int | None = None,
        workers: int | None = None,
        query_prefix: str = "",
        passage_prefix: str = "",
        dtype: EncoderPrecision = "auto",
        setting: str = "embedder.model",
    ):
        """Prefer `Embedder.from_settings`; keyword arguments serve scripts and tests."""
        self.name = model
        self.device = device or best_device()
        self.batch_size = batch_size or best_batch_size(self.device)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.precision = encoder_precision(self.device, dtype)
        self._cores = CoreWorkers.for_model(self.device, self.precision, workers)
        path = resolve_model(model, setting)
        self.model = load_once(
            ("embedder", path, self.device, self.precision), setting, lambda: self._load(path)
        )

    @classmethod
    def from_settings(cls, settings: EmbedderSettings) -> Embedder:
        return cls(**settings.model_dump())

    def _load(self, path: str):
        from sentence_transformers import SentenceTransformer

        if self.precision == "int8":
            return quantize_int8(SentenceTransformer(path, device=self.device))
        if self.precision == "openvino":
            model = SentenceTransformer(path, device=self.device)
            run_on_openvino(model[0].auto_model, model.tokenizer, "last_hidden_state")
            return model
        dtype = torch_dtype(self.precision)
        return SentenceTransformer(path, device=self.device, model_kwargs={"dtype": dtype})

    @property
    def dimension(self) -> int:
        get = getattr(self.model, "get_embedding_dimension", None) or (
            self.model.get_sentence_embedding_dimension
        )
        return int(get())

    @property
    def workers(self) -> int:
        return self._cores.workers

    @property
    def tokenizer(self) -> object:
        return self.model.tokenizer

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def embed_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self._encode([self.passage_prefix + t for t in texts], progress)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts], False)

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._cores.map_batches(
            self._encode_batch, texts, self.batch_size, progress=progress, desc="embedding"
        )
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        # normalised in fp32: in bf16 (8-bit mantissa) norms would come out up to ~0.5% off one
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=False,  # in _encode, in fp32
            convert_to_numpy=True,
            show_progress_bar=False,  # map_batches shows the progress
        )
