"""The key/value caches a llama.cpp context switched away from, kept in memory to switch back.

One llama.cpp context holds one prompt's cache. A follow-up question runs the rewrite prompt
between two answers, and without a copy the answer after it reads its instructions, worked
examples and the conversation again: on two AVX2 cores about 10 s of the 1.5B model's time to
first token. The transformers engine keeps two caches for the same reason (prompt_cache.py).
A copy is taken only when a prompt of another kind is about to overwrite the context (it
shares almost nothing with it), so one kind of prompt after another copies nothing.
"""

from __future__ import annotations

import ctypes
import logging
from dataclasses import dataclass

from generation.engines.prompt_cache import shared_prefix

log = logging.getLogger(__name__)

_SEQUENCE = 0  # llama-cpp-python reads every prompt into sequence 0


@dataclass
class _Snapshot:
    ids: list[int]
    state: ctypes.Array


class ContextSnapshots:
    """Not thread-safe: the engine holds its lock around `switch` and the reading after it."""

    def __init__(self, slots: int = 2, min_shared: int = 16):
        self.slots = slots
        self.min_shared = min_shared  # fewer shared tokens than this: another kind of prompt
        self._kept: list[_Snapshot] = []

    def switch(self, llm, ids: list[int]) -> None:
        """Before `llm` reads `ids`: keep the context when `ids` is another kind of prompt, and
        put back the kept cache that shares more of `ids` than the context does."""
        held = llm.input_ids[: llm.n_tokens].tolist()
        shared = shared_prefix(held, ids)
        if shared < self.min_shared <= len(held):
            self._keep(llm, held)
        best = max(self._kept, key=lambda s: shared_prefix(s.ids, ids), default=None)
        if best is not None and shared_prefix(best.ids, ids) >= shared + self.min_shared:
            self._restore(llm, best)

    def _keep(self, llm, held: list[int]) -> None:
        import llama_cpp

        size = llama_cpp.llama_state_seq_get_size(llm.ctx, _SEQUENCE)
        state = (ctypes.c_uint8 * size)()
        if llama_cpp.llama_state_seq_get_data(llm.ctx, state, size, _SEQUENCE) != size:
            log.warning("llama.cpp could not copy its context; the next switch reads it again")
            return
        same_kind = [s for s in self._kept if shared_prefix(s.ids, held) >= self.min_shared]
        self._kept = [s for s in self._kept if s not in same_kind]
        self._kept.append(_Snapshot(held, state))
        del self._kept[: -self.slots]

    def _restore(self, llm, snapshot: _Snapshot) -> None:
        import llama_cpp

        state = snapshot.state
        if not llama_cpp.llama_state_seq_set_data(llm.ctx, state, len(state), _SEQUENCE):
            log.warning("llama.cpp could not take back a kept context; reading the prompt")
            self._kept.remove(snapshot)
            llm.reset()
            return
        llm.input_ids[: len(snapshot.ids)] = snapshot.ids
        llm.n_tokens = len(snapshot.ids)
        log.debug("took back a kept context of %d tokens", len(snapshot.ids))
