"""Local GGUF models through llama.cpp: fast on a CPU, all layers on the GPU when built for it."""

from __future__ import annotations

import atexit
import functools
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from generation.engines.base import GeneratorSettings, Messages
from generation.engines.llama_snapshots import ContextSnapshots
from generation.engines.prefix_store import PrefixStore, store_key
from generation.engines.prompt_cache import shared_prefix
from indexing.assembled import model_cache
from indexing.kernels import cpu_flags, llama_threads
from indexing.models import load_once, resolve_model

log = logging.getLogger(__name__)


class LlamaCppGenerator:
    def __init__(self, settings: GeneratorSettings, setting: str = "generator.model"):
        import llama_cpp
        from llama_cpp import Llama

        self.name = settings.model
        self.repeat_penalty = settings.repeat_penalty
        path = resolve_model(settings.model, setting)

        decoding, reading = llama_threads(settings.threads)

        def load() -> Llama:
            log.info("llama.cpp build: %s", ", ".join(build_features()))
            if unused := unused_instruction_sets(cpu_flags(), build_features()):
                unused_sets = ", ".join(unused)
                log.warning("llama.cpp leaves %s unused: `make llama` rebuilds it", unused_sets)
            llm = Llama(
                model_path=path,
                n_ctx=settings.context_tokens,
                n_threads=decoding,
                n_threads_batch=reading,
                n_gpu_layers=-1,  # ignored by CPU builds
                verbose=False,
            )
            atexit.register(llm.close)  # before interpreter teardown, which breaks __del__
            return llm

        self.llm = load_once(("llama_cpp", path, str(settings.context_tokens)), setting, load)
        # the prompt as llama-cpp-python's chat completion formats it, and its fixed part
        self._template = _chat_template(self.llm, reply=True)
        self._fixed_template = _chat_template(self.llm, reply=False)
        # one llama.cpp context answers one request at a time
        self._lock = _locks.setdefault(id(self.llm), threading.Lock())
        self._snapshots = _snapshots.setdefault(id(self.llm), ContextSnapshots())
        self._disk = (
            PrefixStore(
                model_cache() / "prompts",
                store_key(path, "llama_cpp", llama_cpp.__version__, *build_features()),
                ".llama-state",
            )
            if settings.disk_prompt_cache and self._template is not None
            else None
        )

    def opening_probabilities(
        self,
        messages: Messages,
        openings: Sequence[str],
        usage: dict[str, int] | None = None,
    ) -> list[float] | None:
        """Read from the logits of the prompt's last token, which llama.cpp computes anyway;
        the prompt stays in the context, and the answer to the same chat (formatted and
        tokenised as llama-cpp-python's chat completion does) starts from it at once, as does
        one sharing its beginning. None for a model without a chat template in its file."""
        import numpy as np

        if self._template is None:
            return None
        ids = self._prompt_ids(messages)
        first = [self.llm.tokenize(o.encode(), add_bos=False, special=False)[0] for o in openings]
        with self._lock:
            self._prepare(messages, ids)
            if usage is not None:
                usage.update(prompt_tokens=len(ids), cached_tokens=_held(self.llm, ids))
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
            if self._template is not None:
                ids = self._prompt_ids(messages)
                self._prepare(messages, ids)
                if usage is not None:
                    usage["prompt_tokens"] = len(ids)
                    usage["cached_tokens"] = _held(self.llm, ids)
            elif usage is not None:  # llama-cpp-python's own format adds a few tokens to these
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
            written = []
            for chunk in chunks:
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    written.append(piece)
                    yield piece
            if usage is not None:  # its streamed chunks carry no counts
                text = "".join(written).encode()
                usage["completion_tokens"] = len(self.llm.tokenize(text, add_bos=False))

    def _prepare(self, messages: Messages, ids: list[int]) -> None:
        """Leave in the context the part of `ids` it can start from: a kept context of this
        kind of prompt, or the fixed part's state on disk, cut to what the reading needs."""
        self._snapshots.switch(self.llm, ids)
        self._start_from_disk(messages, ids)
        self._forget_other_turns(messages, ids)

    def _forget_other_turns(self, messages: Messages, ids: list[int]) -> None:
        """Keep of the context only the prompt's fixed part (the messages before its last),
        unless it already holds most of the last message too (the answer after the yes/no
        probe on the same sources). The few tokens another question's turn shares with this
        one save nothing, but read inside another batch they move this prompt's numbers: the
        same question's refusal probe came out 0.08 apart in log-odds after different
        questions, so answers and gate decisions depended on the question asked before."""
        held = shared_prefix(self.llm.input_ids[: self.llm.n_tokens].tolist(), ids)
        if held <= 0 or len(messages) < 2:
            return
        fixed = len(self._prompt_ids(list(messages[:-1]), reply=False))
        if held < fixed + (len(ids) - fixed) // 2:
            self.llm.n_tokens = min(held, fixed)

    def _prompt_ids(self, messages: Messages, reply: bool = True) -> list[int]:
        template = self._template if reply else self._fixed_template
        chat = template(messages=messages)
        return self.llm.tokenize(chat.prompt.encode(), add_bos=not chat.added_special, special=True)

    def _start_from_disk(self, messages: Messages, ids: list[int]) -> None:
        """A fresh context first takes the fixed part's state kept on disk (instructions and
        worked examples: seconds of reading on a CPU); the first prompt with a fixed part the
        disk lacks writes it there, read up to its end first."""
        if self._disk is None:
            return
        fixed = self._disk.fixed_part(
            messages,
            ids,
            lambda m: self._prompt_ids(m, reply=False),
            lambda store: _load_state(self.llm, store) if self.llm.n_tokens == 0 else None,
        )
        if fixed is not None:
            self._disk.settle(fixed, self._write_state)

    def _write_state(self, fixed: list[int]) -> None:
        _read_prompt(self.llm, fixed)  # the context now holds exactly the fixed part
        self._disk.write(fixed, lambda path: _save_state(self.llm, path, fixed))


@functools.cache
def build_features() -> list[str]:
    """What the installed llama.cpp was compiled for ("AVX2", "AVX512_VNNI"...): the
    Makefile builds it for this CPU's instruction sets, a wheel from elsewhere may lack them."""
    import llama_cpp

    return re.findall(r"(\w+) = 1", llama_cpp.llama_print_system_info().decode())


# the CPU's flags each instruction set llama.cpp can be built for needs (Makefile): the
# AVX-512 foundation ggml compiles with, and each extension's own flag on top of it
_AVX512 = frozenset({"avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"})
_BUILDABLE = {
    "AVX512": _AVX512,
    "AVX512_VNNI": _AVX512 | {"avx512_vnni"},
    "AVX512_VBMI": _AVX512 | {"avx512vbmi"},
    "AVX512_BF16": _AVX512 | {"avx512_bf16"},
}


def unused_instruction_sets(flags: frozenset[str], built: Sequence[str]) -> list[str]:
    """The instruction sets the Makefile would build llama.cpp for on this CPU that the
    installed build lacks (a .venv made before AVX-512 builds, a wheel from elsewhere)."""
    return [name for name, needs in _BUILDABLE.items() if needs <= flags and name not in built]


def _chat_template(llm, reply: bool):
    """The formatter llama-cpp-python builds from the file's own chat template (`reply`: with
    the assistant's opening after the last message), or None when the file has none."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if template is None:
        return None
    special = [
        llm.detokenize([t], special=True).decode() if t != -1 else ""
        for t in (llm.token_eos(), llm.token_bos())
    ]
    return Jinja2ChatFormatter(
        template, eos_token=special[0], bos_token=special[1], add_generation_prompt=reply
    )


def _held(llm, ids: list[int]) -> int:
    """The prompt's tokens the context holds already, which it does not read again (all but
    the last at most: its logits are what a reading is for)."""
    return min(shared_prefix(llm.input_ids[: llm.n_tokens].tolist(), ids), len(ids) - 1)


def _read_prompt(llm, ids: list[int]):
    """The next-token logits after `ids`, reading only what the context does not already hold
    (at least the last token, whose logits llama.cpp keeps)."""
    import llama_cpp
    import numpy as np

    llm.n_tokens = _held(llm, ids)  # eval() drops the context past n_tokens
    llm.eval(ids[llm.n_tokens :])
    logits = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
    return np.ctypeslib.as_array(logits, shape=(llm.n_vocab(),)).astype(np.float64)


def _load_state(llm, store: PrefixStore) -> list[int] | None:
    """Fill an empty context from the state file; the ids it holds, or None."""
    import ctypes

    import llama_cpp

    path = store.used()
    if path is None:
        return None
    tokens = (llama_cpp.llama_token * llm.n_ctx())()
    count = ctypes.c_size_t(0)
    if not llama_cpp.llama_state_load_file(
        llm.ctx, str(path).encode(), tokens, llm.n_ctx(), ctypes.byref(count)
    ):
        log.warning("ignoring unreadable prompt cache %s", path)
        llm.reset()
        return None
    ids = list(tokens[: count.value])
    llm.input_ids[: len(ids)] = ids
    llm.n_tokens = len(ids)
    return ids


def _save_state(llm, path: Path, ids: list[int]) -> None:
    import llama_cpp

    tokens = (llama_cpp.llama_token * len(ids))(*ids)
    if not llama_cpp.llama_state_save_file(llm.ctx, str(path).encode(), tokens, len(ids)):
        raise OSError(f"llama.cpp could not write {path}")


_locks: dict[int, threading.Lock] = {}
# one per context, as the lock: every engine on a loaded model shares its context
_snapshots: dict[int, ContextSnapshots] = {}
