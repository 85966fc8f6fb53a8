"""Time to first token and decode tokens/s for each generator engine on the same GGUF model.

Engines: llama_cpp (in process), transformers (the same GGUF dequantised once, in the
precision indexing/kernels.py picks here, with and without prompt-lookup drafts, and in bf16
and int8 where the CPU has the instructions for them; needs `pip install gguf accelerate`),
and openai (our LangChain client against llama-cpp-python's OpenAI-compatible server, started
here on 127.0.0.1). All get the same prompts: real SciFact claims with five abstracts each,
as `QA` would build them unpruned, or cut to their first `--passage-words` words (30 words x 5
is about the app's pruned 150 tokens). The first prompt warms each engine up, so the
instructions and worked examples every prompt shares are read from its cache, as in the app.
Tokens are counted with one tokenizer.

    python bench/generator_engines.py --runs 3 --max-tokens 96 [--model GGUF]
    python bench/generator_engines.py --runs 5 --passage-words 30 --engines llama_cpp transformers
    python bench/generator_engines.py --runs 5 --passage-words 30 \
        --engines transformers transformers-formats   # bf16 against int8
"""

from __future__ import annotations

import argparse
import contextlib
import time

from common import corpus_rows, print_result, scifact, setup_logging

from generation.engines import GeneratorSettings, make_generator
from generation.engines.local_server import llama_server
from generation.prompt import build_messages
from indexing.kernels import BF16_FLAGS, VNNI_FLAGS, cpu_flags, generator_precision
from indexing.models import resolve_model
from retrieval.passages import Passage


def run_engine(settings: GeneratorSettings, prompts: list, max_tokens: int, count):
    """Median TTFT and decode rate over `prompts[1:]`; prompts[0] warms the engine up.

    Every prompt holds different abstracts, so no engine can answer from a cached prompt.
    """
    generator = make_generator(settings)
    first, rates = [], []
    for attempt, messages in enumerate(prompts):
        started = time.perf_counter()
        pieces, first_at = [], None
        for piece in generator.stream(messages, max_tokens, 0.0):
            first_at = first_at or time.perf_counter()
            pieces.append(piece)
        ended = time.perf_counter()
        if attempt and first_at is not None:
            first.append(first_at - started)
            rates.append((count("".join(pieces)) - 1) / max(ended - first_at, 1e-9))
    return sorted(first)[len(first) // 2], sorted(rates)[len(rates) // 2]


ENGINES = ["llama_cpp", "transformers", "transformers-no-lookup", "transformers-formats", "openai"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--model", default=GeneratorSettings().model, help="a GGUF model")
    parser.add_argument("--passage-words", type=int, help="cut each abstract to this many words")
    parser.add_argument(
        "--engines", nargs="+", choices=ENGINES, default=ENGINES, help="the engines to time"
    )
    args = parser.parse_args()
    setup_logging()
    from llama_cpp import Llama

    model = args.model
    path = resolve_model(model, "generator.model")
    vocab = Llama(model_path=path, vocab_only=True, verbose=False)
    count = lambda text: len(vocab.tokenize(text.encode(), add_bos=False, special=False))  # noqa: E731
    data = scifact()
    docs = corpus_rows(data, 5 * (args.runs + 1))
    qids = sorted(data.queries, key=int)
    prompts = [
        build_messages(
            data.queries[qids[run]],
            [
                Passage(
                    i,
                    f"corpus.jsonl#{d['_id']}",
                    "corpus.jsonl",
                    d["title"],
                    " ".join(d["text"].split()[: args.passage_words]),
                    0,
                    0,
                )
                for i, d in enumerate(docs[5 * run : 5 * run + 5])
            ],
        )
        for run in range(args.runs + 1)
    ]
    precision = generator_precision("cpu")
    formats = [
        dtype
        for dtype, flags in (("bfloat16", BF16_FLAGS), ("int8", VNNI_FLAGS))
        if flags & cpu_flags() and dtype != precision
    ]
    engines = {
        "llama_cpp": ("llama_cpp", GeneratorSettings(engine="llama_cpp", model=model)),
        f"transformers ({precision}, prompt lookup)": (
            "transformers",
            GeneratorSettings(engine="transformers", model=model, device="cpu"),
        ),
        f"transformers ({precision}, no lookup)": (
            "transformers-no-lookup",
            GeneratorSettings(
                engine="transformers", model=model, device="cpu", prompt_lookup_tokens=0
            ),
        ),
        **{
            f"transformers ({dtype}, prompt lookup)": (
                "transformers-formats",
                GeneratorSettings(engine="transformers", model=model, device="cpu", dtype=dtype),
            )
            for dtype in formats
        },
        "openai -> llama_cpp.server (loopback)": (
            "openai",
            GeneratorSettings(engine="openai", model=model, base_url="set when the server starts"),
        ),
    }
    rows, results = [], {}
    with contextlib.ExitStack() as servers:
        for name, (kind, settings) in engines.items():
            if kind not in args.engines:
                continue
            if settings.engine == "openai":
                base = servers.enter_context(llama_server(path))
                settings = settings.model_copy(update={"base_url": base})
            try:
                ttft, rate = run_engine(settings, prompts, args.max_tokens, count)
            except Exception as exc:  # an engine that cannot run here is reported, not fatal
                rows.append({"engine": name, "status": f"failed: {type(exc).__name__}: {exc}"})
                continue
            results[name] = (ttft, rate)
            rows.append({"engine": name, "status": "ok", "TTFT s": ttft, "decode tok/s": rate})
    base = results.get("llama_cpp")
    ratios = {}
    if base:
        for name, (ttft, rate) in results.items():
            if name != "llama_cpp":
                ratios[f"{name} TTFT / llama_cpp TTFT"] = ttft / base[0]
                ratios[f"llama_cpp tok/s / {name} tok/s"] = base[1] / rate
    print_result(
        f"Generators, {model}, prompt = 1 claim + 5 abstracts"
        f"{f' (first {args.passage_words} words)' if args.passage_words else ''}, "
        f"{args.max_tokens} new tokens, median of {args.runs}",
        rows,
        ratios,
    )


if __name__ == "__main__":
    main()
