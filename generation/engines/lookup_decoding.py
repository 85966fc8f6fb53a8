"""Greedy decoding with prompt-lookup drafts over a reusable key/value cache.

A grounded answer copies spans of its passages, so the tokens that followed the answer's last
few tokens somewhere in the prompt are a good guess at what comes next (prompt-lookup
decoding, Saxena 2023). The model checks a whole guess in one forward pass, which on a CPU
costs about what one token does: decode is bound by reading the weights, not by arithmetic.
Greedy acceptance keeps the output identical to plain greedy decoding.

transformers' own `prompt_lookup_num_tokens` reads the whole prompt again even when the cache
already holds most of it, which doubled the time to the first token here; this loop starts
from whatever the cache holds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

NGRAM_MAX = 3


def draft(sequence: Sequence[int], prompt_length: int, tokens: int) -> list[int]:
    """The tokens that followed the latest earlier occurrence of the sequence's last n-gram
    (n from 3 down to 1) inside the prompt; empty when there is none."""
    for n in range(min(NGRAM_MAX, len(sequence) - 1), 0, -1):
        tail = list(sequence[-n:])
        for start in range(min(prompt_length, len(sequence) - n) - 1, -1, -1):
            if list(sequence[start : start + n]) == tail:
                follow = list(sequence[start + n : min(start + n + tokens, prompt_length)])
                if follow:
                    return follow
    return []


def greedy_with_lookup(
    model,
    prompt: list[int],
    cache,
    max_new_tokens: int,
    stop: set[int],
    lookup: int,
    first: int | None = None,
) -> Iterator[int]:
    """Yield the new tokens one by one. `cache` may already hold a prefix of `prompt` (at
    least one prompt token must be left out of it), or all of it when `first`, the greedy
    token after the prompt, is known already; it is extended in place."""
    import torch

    def forward(tokens: list[int], keep: int) -> list[int]:
        """The greedy next token after each of the last `keep` tokens: a prompt needs only
        its last one, and the vocabulary projection of the others would cost ~0.3 s."""
        ids = torch.tensor([tokens], device=model.device)
        out = model(input_ids=ids, cache=cache, use_cache=True, logits_to_keep=keep)
        return out.logits[0].argmax(-1).tolist()

    with torch.inference_mode():
        sequence = list(prompt)
        new = [first] if first is not None else forward(sequence[cache.get_seq_length() :], 1)
        made = 0
        while True:
            for token in new:
                sequence.append(token)
                made += 1
                if token in stop:
                    return
                yield token
                if made >= max_new_tokens:
                    return
            # the cache holds every token but the last; check a guess at what follows it
            guess = draft(sequence, len(prompt), min(lookup, max_new_tokens - made))
            predicted = forward([sequence[-1], *guess], len(guess) + 1)
            accepted = 0
            while accepted < len(guess) and predicted[accepted] == guess[accepted]:
                accepted += 1
            cache.crop(accepted - len(guess))  # drop the rejected guesses' keys and values
            new = [*guess[:accepted], predicted[accepted]]
