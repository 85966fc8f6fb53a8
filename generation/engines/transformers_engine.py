"""Any Hugging Face causal LM (id, folder, or GGUF inside a folder), fp16 on a GPU."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from generation.engines.base import GeneratorSettings, Messages
from indexing.embedding import best_device
from indexing.models import load_once, resolve_model


class TransformersGenerator:
    def __init__(self, settings: GeneratorSettings, setting: str = "generator.model"):
        self.name = settings.model
        self.repeat_penalty = settings.repeat_penalty
        self.device = settings.device or best_device()
        path = resolve_model(settings.model, setting)
        gguf = settings.gguf_file
        if path.endswith(".gguf"):  # a GGUF file: transformers reads it from its folder
            path, gguf = str(Path(path).parent), Path(path).name
        self.tokenizer, self.model = load_once(
            ("transformers", path, gguf or "", self.device), setting, lambda: self._load(path, gguf)
        )
        self._lock = threading.Lock()

    def _load(self, path: str, gguf: str | None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        kwargs = {"gguf_file": gguf} if gguf else {}
        dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
        tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **kwargs).to(self.device)
        model.eval()
        return tokenizer, model

    def stream(self, messages: Messages, max_tokens: int, temperature: float) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        inputs = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(self.device)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        sampling = (
            {"do_sample": True, "temperature": temperature}
            if temperature > 0
            else {"do_sample": False}
        )
        kwargs = dict(
            inputs,
            streamer=streamer,
            max_new_tokens=max_tokens,
            repetition_penalty=self.repeat_penalty,
            **sampling,
        )
        with self._lock:
            worker = threading.Thread(target=self.model.generate, kwargs=kwargs, daemon=True)
            worker.start()
            yield from (piece for piece in streamer if piece)
            worker.join()
