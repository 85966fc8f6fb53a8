"""Run a small encoder's transformer on OpenVINO's CPU kernels, in fp32.

Where a CPU has no bf16 instructions the kernel rule computes in fp32, and OpenVINO's fused
kernels compute the same numbers as torch's (cosine 1.000 to its vectors, the same reranker
scores) 1.1-1.2x faster on two AVX2 cores (bench/README.md). Only the Hugging Face model's
forward pass moves: sentence-transformers still tokenises, pools and normalises, so any model
it loads keeps working. sentence-transformers' own OpenVINO backend needs optimum-intel, which
pins an older torch and transformers than ours. A converted model is kept on disk under the
model cache, named by a hash of its weights: converting takes ~2 s, reading it back 0.5 s.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Literal

from indexing.assembled import model_cache

log = logging.getLogger(__name__)

Output = Literal["last_hidden_state", "logits"]


def openvino_installed() -> bool:
    return importlib.util.find_spec("openvino") is not None


def run_on_openvino(model, tokenizer, output: Output) -> None:
    """Swap `model`'s forward (a transformers model: an encoder for `last_hidden_state`, a
    sequence classifier for `logits`) for an OpenVINO compiled copy of it."""
    import openvino as ov
    import torch
    from transformers.modeling_outputs import BaseModelOutput, SequenceClassifierOutput

    started = time.perf_counter()
    example = tokenizer(
        [["a short question", "a passage that answers it"], ["another", "pair"]],
        padding=True,
        return_tensors="pt",
    )
    names = [name for name in tokenizer.model_input_names if name in example]
    core = ov.Core()
    path = _converted_path(model, names, output)
    if not path.exists():
        _save_atomically(_convert(model, example, names, output), path)
    compiled = core.compile_model(
        core.read_model(str(path)),
        "CPU",
        {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": torch.get_num_threads()},
    )
    wrap = BaseModelOutput if output == "last_hidden_state" else SequenceClassifierOutput

    def forward(**inputs: torch.Tensor):
        # a request per call: one shared request would mix up the web app's concurrent calls
        result = compiled.create_infer_request().infer([inputs[n].numpy() for n in names])[0]
        return wrap(**{output: torch.from_numpy(result)})

    model.forward = forward
    for parameter in model.parameters():  # OpenVINO holds its own copy: free torch's
        parameter.data = torch.empty(0, dtype=parameter.dtype)
    log.info("%s on OpenVINO in %.1f s", type(model).__name__, time.perf_counter() - started)


def _convert(model, example, names: list[str], output: Output):
    import openvino as ov
    import torch

    class Traced(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return getattr(self.model(**dict(zip(names, inputs, strict=True))), output)

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracing notes on the model's Python branches
        return ov.convert_model(
            Traced(),
            example_input=tuple(example[name] for name in names),
            input=[([-1, -1], ov.Type.i64)] * len(names),
        )


def _converted_path(model, names: list[str], output: Output) -> Path:
    """Where the converted model lives: named by its weights, inputs, output and OpenVINO's
    version, so a retrained model at the same path is converted anew."""
    import openvino as ov

    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{ov.__version__} {names} {output} {type(model).__name__}".encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().float().contiguous().numpy().tobytes())
    return model_cache() / "openvino" / digest.hexdigest() / "model.xml"


def _save_atomically(converted, path: Path) -> None:
    """Written to a temporary folder and renamed into place: a reader never sees half a model,
    and two processes converting at once leave one whole copy."""
    import openvino as ov

    path.parent.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=path.parent.parent, prefix=".converting-"))
    try:
        ov.save_model(converted, str(staging / path.name), compress_to_fp16=False)
        os.replace(staging, path.parent)
    except OSError:
        if not path.exists():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
