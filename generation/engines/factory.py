"""Pick a generator engine from settings, importing only what that engine needs."""

from __future__ import annotations

import logging

from generation.engines.base import Generator, GeneratorSettings
from indexing.embedding import best_device
from indexing.errors import MinigiantError
from indexing.kernels import generator_precision

log = logging.getLogger(__name__)

_EXTRA_PACKAGES = {
    "llama_cpp": "llama-cpp-python",
    "transformers": "transformers torch",
    "openai": "langchain-openai",
}


def resolved_engine(settings: GeneratorSettings) -> str:
    """`auto`: transformers where the hardware has fast half-precision or int8 kernels (CUDA,
    bf16 CPUs, AVX-512 VNNI) or the model is no GGUF file, else llama.cpp's quantised CPU
    kernels.

    On this project's 2-core AVX-512-BF16 machine Qwen2.5-1.5B reads prompts about 3x faster
    in torch bf16 than in the portable llama.cpp build, and faster again with int8 Linear
    layers (bench/generator_engines.py).
    """
    if settings.engine != "auto":
        return settings.engine
    if not settings.model.lower().endswith(".gguf") and not settings.gguf_file:
        return "transformers"
    device = settings.device or best_device()
    fast = generator_precision(device, settings.dtype) != "float32"
    return "transformers" if fast else "llama_cpp"


def import_engine(settings: GeneratorSettings) -> None:
    """Import what the engine loads models with, in the calling thread. transformers 5
    resolves its names lazily, and two threads resolving them at once can fail ("cannot
    import name 'AutoModelForCausalLM' from 'transformers'", met here once as QA loaded the
    generator in a thread beside the small models; transformers' lazy-import race): a caller
    that loads the generator in a thread imports first."""
    if resolved_engine(settings) == "transformers":
        from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: F401


def make_generator(settings: GeneratorSettings) -> Generator:
    engine = resolved_engine(settings)
    if engine != settings.engine:
        log.info("generator engine auto -> %s for %s", engine, settings.model)
    try:
        if engine == "llama_cpp":
            from generation.engines.llama_cpp_engine import LlamaCppGenerator

            return LlamaCppGenerator(settings)
        if engine == "transformers":
            from generation.engines.transformers_engine import TransformersGenerator

            return TransformersGenerator(settings)
        from generation.engines.openai_engine import OpenAIGenerator

        return OpenAIGenerator(settings)
    except ImportError as exc:
        raise MinigiantError(
            f"generator.engine={engine!r} needs `pip install {_EXTRA_PACKAGES[engine]}` ({exc})"
        ) from exc
