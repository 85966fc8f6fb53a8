"""Local GGUF models through llama.cpp: fast on a CPU, all layers on the GPU when built for it."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator, Sequence

from generation.engines.base import GeneratorSettings, Messages
from indexing.models import load_once, resolve_model


class LlamaCppGenerator:
    def __init__(self, settings: GeneratorSettings, setting: str = "generator.model"):
        from llama_cpp import Llama

        self.name = settings.model
        self.repeat_penalty = settings.repeat_penalty
        path = resolve_model(settings.model, setting)

        def load() -> Llama:
            llm = Llama(
                model_path=path,
                n_ctx=settings.context_tokens,
                n_threads=settings.threads,
                n_gpu_layers=-1,  # ignored by CPU builds
                verbose=False,
            )
            atexit.register(llm.close)  # before interpreter teardown, which breaks __del__
            return llm

        self.llm = load_once(("llama_cpp", path, str(settings.context_tokens)), setting, load)
        # one llama.cpp context answers one request at a time
        self._lock = _locks.setdefault(id(self.llm), threading.Lock())

    def opening_probabilities(self, messages: Messages, openings: Sequence[str]) -> None:
        """llama-cpp-python exposes probabilities only when every position's logits are kept,
        which would slow every prompt down."""
        return None

    def stream(
        self,
        messages: Messages,
        max_tokens: int,
        temperature: float,
        usage: dict[str, int] | None = None,
    ) -> Iterator[str]:
        with self._lock:
            if usage is not None:  # the contents' tokens; the chat template adds a few
                usage["prompt_tokens"] = sum(
                    len(self.llm.tokenize(m["content"].encode(), add_bos=False)) for m in messages
                )
            chunks = self.llm.create_chat_completion(
                messages=messages,
                max_tokens=max_tokens,
                temperature=temperature,
                repeat_penalty=self.repeat_penalty,
                stream=True,
            )
            for chunk in chunks:
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece


_locks: dict[int, threading.Lock] = {}
