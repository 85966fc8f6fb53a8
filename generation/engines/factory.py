"""Pick a generator engine from settings, importing only what that engine needs."""

from __future__ import annotations

from generation.engines.base import Generator, GeneratorSettings
from indexing.errors import MinigiantError

_EXTRA_PACKAGES = {
    "llama_cpp": "llama-cpp-python",
    "transformers": "transformers torch",
    "openai": "langchain-openai",
}


def make_generator(settings: GeneratorSettings) -> Generator:
    try:
        if settings.engine == "llama_cpp":
            from generation.engines.llama_cpp_engine import LlamaCppGenerator

            return LlamaCppGenerator(settings)
        if settings.engine == "transformers":
            from generation.engines.transformers_engine import TransformersGenerator

            return TransformersGenerator(settings)
        from generation.engines.openai_engine import OpenAIGenerator

        return OpenAIGenerator(settings)
    except ImportError as exc:
        raise MinigiantError(
            f"generator.engine={settings.engine!r} needs `pip install "
            f"{_EXTRA_PACKAGES[settings.engine]}` ({exc})"
        ) from exc
