"""Cut documents into overlapping chunks measured in the embedder's own tokens.

Windows are laid over the tokenizer's character offsets, so every chunk is an exact slice of
the document (offsets the UI can highlight) and never exceeds what the embedder reads. A
window ends at the last paragraph break in its second half, else line break, else sentence
end, else word boundary; a break after a colon counts as a word boundary, since what the colon
introduces belongs with it.

The document is tokenised a segment at a time (cut at whitespace, where word-piece
tokenisers split anyway), so memory follows the segment size, not the document's: a token's
offsets cost ~100 bytes in Python, which made a 5 MB one-line text take a gigabyte.
"""

from __future__ import annotations

from collections.abc import Iterator

from indexing.documents import Chunk, Document

_SENTENCE_END = frozenset(".!?")
# boundary strength of the gap after a token: paragraph > line > sentence > word > none
_PARAGRAPH, _LINE, _SENTENCE, _WORD, _NONE = 4, 3, 2, 1, 0
SEGMENT_CHARS = 100_000
_COMPACT_TOKENS = 8192  # drop offsets of finished windows once this many pile up


class Chunker:
    def __init__(
        self,
        tokenizer: object,
        chunk_tokens: int = 200,
        overlap_tokens: int = 32,
        segment_chars: int = SEGMENT_CHARS,
    ):
        if chunk_tokens < 16:
            raise ValueError(f"chunk_tokens must be at least 16, got {chunk_tokens}")
        if not 0 <= overlap_tokens < chunk_tokens // 2:
            raise ValueError(
                f"overlap_tokens must be in [0, chunk_tokens / 2), got {overlap_tokens} "
                f"with chunk_tokens={chunk_tokens}"
            )
        self.tokenizer = tokenizer
        self.size = chunk_tokens
        self.overlap = overlap_tokens
        self.segment_chars = segment_chars

    def split(self, document: Document) -> list[Chunk]:
        text = document.text
        segments = self._segments(text)
        offsets: list[tuple[int, int]] = []
        chunks: list[Chunk] = []
        start, more = 0, True
        while True:
            # a window needs one token past its end to judge the boundary after it
            while more and len(offsets) - start <= self.size:
                segment = next(segments, None)
                more = segment is not None
                if segment is not None:
                    offsets.extend(self._tokens(text, *segment))
            n = len(offsets)
            if start >= n:
                break
            end = min(start + self.size, n)
            if end < n:
                end = self._best_end(text, offsets, start, end)
            first, last = offsets[start][0], offsets[end - 1][1]
            chunks.append(
                Chunk(document.uri, len(chunks), document.title, text[first:last], first, last)
            )
            if end >= n:
                break
            start = self._next_start(offsets, start, end)
            if start >= _COMPACT_TOKENS:
                del offsets[:start]
                start = 0
        return chunks

    def _segments(self, text: str) -> Iterator[tuple[int, int]]:
        """(start, end) character ranges of at most `segment_chars`, cut at whitespace."""
        begin = 0
        while begin < len(text):
            limit = begin + self.segment_chars
            if limit >= len(text):
                yield begin, len(text)
                return
            cut = max(text.rfind(c, begin + self.segment_chars // 2, limit) for c in " \n\t")
            end = cut if cut > begin else limit
            yield begin, end
            begin = end

    def _tokens(self, text: str, begin: int, end: int) -> list[tuple[int, int]]:
        offsets = self.tokenizer(
            text[begin:end], add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )["offset_mapping"]
        return [(a + begin, b + begin) for a, b in offsets]

    @staticmethod
    def _strength(text: str, offsets: list[tuple[int, int]], k: int) -> int:
        gap = text[offsets[k][1] : offsets[k + 1][0]]
        if not gap:
            return _NONE
        last = text[offsets[k][1] - 1]
        if last == ":":
            # "..., for example:" and the example after it are one thought: cut between
            # them, and one chunk explains nothing while the next shows code without its why
            return _WORD
        if "\n" in gap:
            return _PARAGRAPH if gap.count("\n") > 1 else _LINE
        return _SENTENCE if last in _SENTENCE_END else _WORD

    def _best_end(self, text: str, offsets: list[tuple[int, int]], start: int, end: int) -> int:
        """Exclusive token index to end the window at; searches the window's second half."""
        best_k, best = end - 1, -1
        for k in range(end - 1, start + (end - start) // 2 - 1, -1):
            strength = self._strength(text, offsets, k)
            if strength > best:
                best_k, best = k, strength
                if strength == _PARAGRAPH:
                    break
        return best_k + 1

    def _next_start(self, offsets: list[tuple[int, int]], start: int, end: int) -> int:
        """Step back `overlap` tokens, then forward to a word start so no word is cut."""
        nxt = max(end - self.overlap, start + 1)
        while nxt < end and offsets[nxt - 1][1] == offsets[nxt][0]:
            nxt += 1
        return nxt
