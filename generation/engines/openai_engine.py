"""Any OpenAI-compatible server (vLLM, Ollama, llama.cpp server) through LangChain's chat model."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from generation.engines.base import GeneratorSettings, Messages
from indexing.errors import MinigiantError


class OpenAIGenerator:
    def __init__(self, settings: GeneratorSettings):
        if not settings.base_url:
            raise MinigiantError(
                "generator.engine='openai' needs generator.base_url, e.g. http://localhost:8000/v1"
            )
        self.name = settings.model
        self.settings = settings

    def _client(self, max_tokens: int, temperature: float):
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            base_url=self.settings.base_url,
            api_key=self.settings.api_key or "not-needed",
            model=self.settings.model,
            max_tokens=max_tokens,
            temperature=temperature,
            timeout=self.settings.timeout_s,
            max_retries=1,
        )

    def opening_probabilities(
        self,
        messages: Messages,
        openings: Sequence[str],
        usage: dict[str, int] | None = None,
    ) -> None:
        """Servers differ in whether and how they return log-probabilities."""
        return None

    def stream(
        self,
        messages: Messages,
        max_tokens: int,
        temperature: float,
        usage: dict[str, int] | None = None,
    ) -> Iterator[str]:
        import openai

        client = self._client(max_tokens, temperature)
        pairs = [(m["role"], m["content"]) for m in messages]
        try:
            for chunk in client.stream(pairs, stream_usage=True):
                if chunk.content:
                    yield str(chunk.content)
                if usage is not None and chunk.usage_metadata:
                    usage["prompt_tokens"] = chunk.usage_metadata["input_tokens"]
                    usage["completion_tokens"] = chunk.usage_metadata["output_tokens"]
                    details = chunk.usage_metadata.get("input_token_details") or {}
                    if "cache_read" in details:
                        usage["cached_tokens"] = details["cache_read"]
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            raise MinigiantError(
                f"the generator server at {self.settings.base_url} did not answer ({exc}); "
                f"start it, or fix generator.base_url"
            ) from exc
        except openai.APIStatusError as exc:
            raise MinigiantError(
                f"the generator server at {self.settings.base_url} refused the request: "
                f"HTTP {exc.status_code} {exc.message}; check generator.model and generator.api_key"
            ) from exc
