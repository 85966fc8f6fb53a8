"""What every generator engine provides, and the settings that choose one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, Protocol

from pydantic import BaseModel, Field

Messages = list[dict[str, str]]


class GeneratorSettings(BaseModel):
    """One generator: the engine, its model, and sampling limits.

    `model` is a GGUF file (llama_cpp), a causal-LM id or folder (transformers, optionally
    with `gguf_file`), or the model name the server knows (openai).
    """

    engine: Literal["llama_cpp", "transformers", "openai"] = "llama_cpp"
    model: str = "SmolLM2-135M-Instruct-Q4_1.gguf"
    gguf_file: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    context_tokens: int = Field(4096, ge=512)
    max_tokens: int = Field(200, ge=1, le=8192)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    # small models loop on greedy decoding; llama_cpp and transformers engines apply it
    repeat_penalty: float = Field(1.15, ge=1.0, le=2.0)
    threads: int | None = Field(None, ge=1)
    timeout_s: float = Field(120.0, gt=0)
    device: str | None = None


class Generator(Protocol):
    """Streams the reply to a chat as text pieces; engines are thread-safe (they serialise)."""

    name: str

    def stream(self, messages: Messages, max_tokens: int, temperature: float) -> Iterator[str]: ...
