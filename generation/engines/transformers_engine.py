"""Any Hugging Face causal LM (id, folder, or GGUF file) in the precision the machine runs best.

A GGUF file is dequantised once (slow: about a minute for 1.5B parameters) and the result is
cached beside the model cache in that precision, so later loads take seconds. Between
questions the engine keeps the key/value caches of the last two prompts and starts from the
one sharing the longest prefix (prompt_cache.py), as llama.cpp does with one: the instructions
and the worked examples are read once, even with a follow-up rewrite between two answers, and
once per machine rather than per process (their cache is kept on disk, prefix_store.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path

from generation.engines.base import GeneratorSettings, Messages
from generation.engines.lookup_decoding import greedy_with_lookup
from generation.engines.prefix_store import PrefixStore, store_key
from generation.engines.prompt_cache import PromptCaches
from indexing.assembled import model_cache
from indexing.embedding import best_device
from indexing.int8_linear import FORMAT as INT8_FORMAT
from indexing.int8_linear import int8_model
from indexing.kernels import generator_precision, torch_dtype
from indexing.models import load_once, resolve_model

log = logging.getLogger(__name__)


class TransformersGenerator:
    def __init__(self, settings: GeneratorSettings, setting: str = "generator.model"):
        self.name = settings.model
        self.settings = settings
        self.device = settings.device or best_device()
        self.precision = generator_precision(self.device, settings.dtype)
        path = resolve_model(settings.model, setting)
        gguf = settings.gguf_file
        if path.endswith(".gguf"):  # a GGUF file: transformers reads it from its folder
            path, gguf = str(Path(path).parent), Path(path).name
        key = ("transformers", path, gguf or "", self.device, self.precision)
        self.tokenizer, self.model = load_once(key, setting, lambda: self._load(path, gguf))
        self._lock = threading.Lock()
        self._caches = PromptCaches()  # of the last greedy prompts (and their answers)
        self._stop = _stop_tokens(self.tokenizer, self.model)
        self._disk = (
            PrefixStore(
                model_cache() / "prompts",
                store_key(
                    str(Path(path) / (gguf or "")), *_versions(), self.precision, self.device
                ),
            )
            if settings.disk_prompt_cache
            else None
        )

    def _load(self, path: str, gguf: str | None):
        """The model in its precision; int8 quantises a bf16 copy's Linear layers once (the
        int8 layers are kept on disk for later processes) and computes the rest in fp32,
        which decodes faster than bf16 here."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        weights = "bfloat16" if self.precision == "int8" else self.precision
        dtype = torch_dtype(weights)
        if gguf:
            converted = model_cache() / f"{Path(gguf).stem}-{weights}"
            if not (converted / "config.json").exists():
                log.warning("converting %s to %s once (about a minute)", gguf, converted)
                tokenizer = AutoTokenizer.from_pretrained(path, gguf_file=gguf)
                model = AutoModelForCausalLM.from_pretrained(path, gguf_file=gguf, dtype=dtype)
                _save_atomically(converted, tokenizer, _dequantised(model))
            path = str(converted)
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(self.device)
        if self.precision == "int8":
            key = store_key(path, *_versions(), "int8", INT8_FORMAT)
            kept = model_cache() / "int8" / f"{key}.safetensors"
            log.info("%s's Linear layers in int8 (kept in %s)", path, kept)
            model = int8_model(model, kept)
        model.eval()
        return tokenizer, model

    def _prompt_ids(self, messages: Messages, reply: bool = True) -> list[int]:
        return self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=reply, return_tensors="pt", return_dict=True
        )["input_ids"][0].tolist()

    def _fixed_ids(self, messages: Messages, ids: list[int]) -> list[int] | None:
        """The part of the prompt the disk may keep (prefix_store.py), while it needs it; a
        new process first adds that part's cache kept on disk to the pool (prompt_cache.py)."""
        if self._disk is None:
            return None
        return self._disk.fixed_part(
            messages, ids, lambda m: self._prompt_ids(m, reply=False), self._from_disk
        )

    def _from_disk(self, store: PrefixStore) -> list[int] | None:
        stored = store.load(self.model.config, str(self.model.device))
        if stored is None:
            return None
        self._caches.put(*stored)
        return stored[0]

    def _keep_on_disk(self, fixed: list[int] | None, cache) -> None:
        """Write the fixed part's cache once it is read, unless the disk holds it already."""
        if self._disk is None or fixed is None or cache.get_seq_length() < len(fixed):
            return
        self._disk.settle(fixed, lambda ids: self._disk.save(ids, cache))

    def opening_probabilities(
        self,
        messages: Messages,
        openings: Sequence[str],
        usage: dict[str, int] | None = None,
    ) -> list[float]:
        """Reads the prompt into the reusable cache, so the answer after it starts at once."""
        import torch
        from transformers import DynamicCache

        ids = self._prompt_ids(messages)
        first = [self.tokenizer(o, add_special_tokens=False)["input_ids"][0] for o in openings]
        with self._lock, torch.inference_mode():
            fixed = self._fixed_ids(messages, ids)
            cache, _ = self._caches.take(ids)
            cache = cache or DynamicCache(config=self.model.config)
            if cache.get_seq_length() >= len(ids):  # this very prompt was probed last
                cache.crop(len(ids) - 1 - cache.get_seq_length())  # read its last token again
            if usage is not None:
                usage.update(prompt_tokens=len(ids), cached_tokens=cache.get_seq_length())
            unread = torch.tensor([ids[cache.get_seq_length() :]], device=self.model.device)
            out = self.model(input_ids=unread, cache=cache, use_cache=True, logits_to_keep=1)
            logits = out.logits[0, -1].float()
            self._keep_on_disk(fixed, cache)
            # the answer that follows starts from this token without reading the prompt again
            self._caches.put(ids, cache, int(logits.argmax()))
        return torch.softmax(logits, -1)[first].tolist()

    def stream(
        self,
        messages: Messages,
        max_tokens: int,
        temperature: float,
        usage: dict[str, int] | None = None,
    ) -> Iterator[str]:
        ids = self._prompt_ids(messages)
        with self._lock:
            if temperature == 0 and self.settings.repeat_penalty == 1.0:
                made, cached = yield from self._greedy(
                    ids, max_tokens, self._fixed_ids(messages, ids)
                )
            else:
                made, cached = (yield from self._sampled(ids, max_tokens, temperature)), 0
        if usage is not None:
            usage["prompt_tokens"] = len(ids)
            usage["completion_tokens"] = made
            usage["cached_tokens"] = cached

    def _greedy(
        self, ids: list[int], max_tokens: int, fixed: list[int] | None
    ) -> Generator[str, None, tuple[int, int]]:
        """Our prompt-lookup loop (lookup_decoding.py), starting from the reusable cache;
        returns the tokens made and the prompt tokens the cache held."""
        from transformers import DynamicCache

        cache, first = self._caches.take(ids)  # out of the pool until this answer is through
        cached = cache.get_seq_length() if cache is not None else 0
        cache = cache or DynamicCache(config=self.model.config)
        tokens = list(ids)
        text = ""
        lookup = self.settings.prompt_lookup_tokens
        for token in greedy_with_lookup(
            self.model, ids, cache, max_tokens, self._stop, lookup, first
        ):
            tokens.append(token)
            decoded = self.tokenizer.decode(tokens[len(ids) :], skip_special_tokens=True)
            if not decoded.endswith("\ufffd"):  # a character split across tokens waits
                yield decoded[len(text) :]
                text = decoded
        decoded = self.tokenizer.decode(tokens[len(ids) :], skip_special_tokens=True)
        if decoded[len(text) :]:
            yield decoded[len(text) :]
        kept = min(cache.get_seq_length(), len(tokens))
        cache.crop(kept - cache.get_seq_length())
        self._keep_on_disk(fixed, cache)
        self._caches.put(tokens[:kept], cache)
        return len(tokens) - len(ids), cached

    def _sampled(self, ids: list[int], max_tokens: int, temperature: float) -> Iterator[str]:
        """transformers' own generate, for sampling and repetition penalties."""
        import torch
        from transformers import TextIteratorStreamer

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        sampling = (
            {"do_sample": True, "temperature": temperature}
            if temperature > 0
            else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        )
        tensor = torch.tensor([ids], device=self.device)
        kwargs = dict(
            input_ids=tensor,
            attention_mask=torch.ones_like(tensor),
            streamer=streamer,
            max_new_tokens=max_tokens,
            repetition_penalty=self.settings.repeat_penalty,
            pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            return_dict_in_generate=True,
            **sampling,
        )
        result: dict[str, object] = {}
        worker = threading.Thread(target=self._generate, args=(kwargs, result), daemon=True)
        worker.start()
        yield from (piece for piece in streamer if piece)
        worker.join()
        if "error" in result:
            raise result["error"]  # type: ignore[misc]
        return int(result["made"])  # type: ignore[call-overload]

    def _generate(self, kwargs: dict, result: dict[str, object]) -> None:
        try:
            out = self.model.generate(**kwargs)
            result["made"] = out.sequences.shape[1] - kwargs["input_ids"].shape[1]
        except Exception as exc:  # handed to the streaming thread, which raises it
            result["error"] = exc
            kwargs["streamer"].end()


def _stop_tokens(tokenizer, model) -> set[int]:
    """End-of-turn and end-of-text ids: chat models end a reply with either."""
    found = {tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")}
    configured = getattr(model.generation_config, "eos_token_id", None)
    found |= set(configured) if isinstance(configured, list) else {configured}
    return {t for t in found if isinstance(t, int) and t != tokenizer.unk_token_id}


def _dequantised(model):
    """The model as plain weights: transformers unpacked the GGUF blocks on load (it keeps
    them packed only with a GGUF matmul kernel, which these machines lack), but still flags
    the model as quantised, which save_pretrained refuses."""
    import torch

    if any(not torch.is_floating_point(p) for p in model.parameters()):
        raise ValueError("the GGUF weights stayed packed; this model cannot be converted")
    model.hf_quantizer = None
    model.config.quantization_config = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model


def _save_atomically(folder: Path, tokenizer, model) -> None:
    import os
    import shutil

    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer.save_pretrained(tmp)
    model.save_pretrained(tmp)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)


def _versions() -> tuple[str, ...]:
    import torch
    import transformers

    return "transformers", transformers.__version__, "torch", torch.__version__
