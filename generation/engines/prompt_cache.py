"""The key/value caches of the last few prompts, for a local engine to start the next one from.

Prompt reading is most of a CPU generator's time to first token, and consecutive prompts share
long prefixes: the answer prompt's instructions and worked examples are the same for every
question. Two slots keep that prefix cached while a different prompt (the follow-up rewrite)
runs between two answers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass
class _Entry:
    ids: list[int]
    cache: object  # a transformers Cache with crop() and get_seq_length()
    next: int | None  # the greedy token after `ids`, when the prompt was read to its end


def shared_prefix(a: list[int], b: list[int]) -> int:
    """How many leading token ids `a` and `b` have in common."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class PromptCaches:
    """Not thread-safe: the engine holds its lock around take() ... put()."""

    def __init__(self, slots: int = 2, min_shared: int = 16):
        self.slots = slots
        self.min_shared = min_shared
        self._entries: list[_Entry] = []

    @property
    def prompts(self) -> list[list[int]]:
        return [e.ids for e in self._entries]

    def take(self, ids: list[int]) -> tuple[object | None, int | None]:
        """(cache, next token) for `ids`: the whole prompt's cache and its greedy next token
        when this exact prompt was read last, else the cache sharing the longest prefix cut
        to it (at least one token left to read), else (None, None). The cache taken leaves
        the pool until put() returns it."""
        if not self._entries:
            return None, None
        entry = max(self._entries, key=lambda e: shared_prefix(e.ids, ids))
        if entry.ids == ids and entry.next is not None:
            self._entries.remove(entry)
            return entry.cache, entry.next
        cached = entry.cache.get_seq_length()
        shared = min(shared_prefix(entry.ids, ids), len(ids) - 1, cached)
        if shared < self.min_shared:
            return None, None
        self._entries.remove(entry)
        entry.cache.crop(shared - cached)  # a negative count: tokens removed from the end
        log.debug("reusing %d of %d prompt tokens from a cache", shared, len(ids))
        return entry.cache, None

    def put(self, ids: list[int], cache: object, next_token: int | None = None) -> None:
        self._entries.append(_Entry(list(ids), cache, next_token))
        del self._entries[: -self.slots]
