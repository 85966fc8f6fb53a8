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
        self._template = _chat_template(self.llm)
        # one llama.cpp context answers one request at a time
        self._lock = _locks.setdefault(id(self.llm), threading.Lock())

    def opening_probabilities(
        self, messages: Messages, openings: Sequence[str]
    ) -> list[float] | None:
        """Read from the logits of the prompt's last token, which llama.cpp computes anyway;
        the prompt stays in the context, and the answer to the same chat (formatted and
        tokenised as llama-cpp-python's chat completion does) starts from it at once, as does
        one sharing its beginning. None for a model without a chat template in its file."""
        import numpy as np

        if self._template is None:
            return None
        chat = self._template(messages=messages)
        ids = self.llm.tokenize(chat.prompt.encode(), add_bos=not chat.added_special, special=True)
        first = [self.llm.tokenize(o.encode(), add_bos=False, special=False)[0] for o in openings]
        with self._lock:
            logits = _read_prompt(self.llm, ids)
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        return [float(probabilities[t]) for t in first]

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


def _chat_template(llm):
    """The formatter llama-cpp-python builds from the file's own chat template, or None."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if template is None:
        return None
    special = [
        llm.detokenize([t], special=True).decode() if t != -1 else ""
        for t in (llm.token_eos(), llm.token_bos())
    ]
    return Jinja2ChatFormatter(template, eos_token=special[0], bos_token=special[1])


def _read_prompt(llm, ids: list[int]):
    """The next-token logits after `ids`, reading only what the context does not already hold
    (at least the last token, whose logits llama.cpp keeps)."""
    import llama_cpp
    import numpy as np

    held = llm.input_ids[: llm.n_tokens].tolist()
    shared = 0
    while shared < min(len(held), len(ids)) and held[shared] == ids[shared]:
        shared += 1
    llm.n_tokens = min(shared, len(ids) - 1)  # eval() drops the context past n_tokens
    llm.eval(ids[llm.n_tokens :])
    logits = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
    return np.ctypeslib.as_array(logits, shape=(llm.n_vocab(),)).astype(np.float64)


_locks: dict[int, threading.Lock] = {}
