"""Linear layers in int8 on a CPU: weights per output channel, activations per token.

A generator's prompt reading is bound by multiply-adds and its decoding by reading weights;
int8 halves the bytes against bf16 and, on CPUs with VNNI dot products, doubles the
multiply-adds per instruction. torch's int8 x int8 -> int32 matmul (`torch._int_mm`, the
kernel torchao's dynamic int8 builds on) needs no prepacked weights, so quantising a 1.5B model
is a few vectorised passes instead of half a minute of fbgemm packing, and each token's own
scale keeps one token's outlier from coarsening the others. Measured on this project's
2-core AVX-512 (VNNI, BF16) machine, Qwen2.5-1.5B: bench/generator_engines.py.

Quantising reads every page of the bf16 weights: for the 1.5B model 3 s and, while the bf16
file's pages stay mapped, 6.4 GiB of resident memory at its peak. So the int8 layers are kept
in a file that later processes read instead (1.5 GB for the 1.5B model).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from indexing.cache_files import keep_newest, write_whole

log = logging.getLogger(__name__)

QMAX = 127.0
ROWS_AT_ONCE = 4096  # a weight is quantised this many rows at a time, to bound its float copy
KEEP = 2  # int8 files kept in one folder: a cascade's two models
FORMAT = "rows-1"  # of the kept files: a change to the quantisation or the layout needs a new one


def _quantise_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 per row, and each row's scale."""
    scale = x.abs().amax(dim=-1, keepdim=True).float().clamp(min=1e-8) / QMAX
    return (x.float() / scale).round_().clamp_(-QMAX, QMAX).to(torch.int8), scale


class Int8Linear(torch.nn.Module):
    """A drop-in for `torch.nn.Linear` at inference: same input and output dtype."""

    def __init__(self, weight: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None):
        """`weight`: int8 rows (out x in); `scale`: each row's, fp32; `bias`: fp32 or None."""
        super().__init__()
        # _int_mm runs fastest with the weight column-major, as the transpose of rows gives it
        self.register_buffer("weight_t", weight.t(), persistent=False)
        self.register_buffer("scale", scale.reshape(1, -1), persistent=False)
        self.register_buffer("bias", bias, persistent=False)
        self.out_features, self.in_features = weight.shape

    @classmethod
    def from_linear(cls, linear: torch.nn.Linear) -> Int8Linear:
        rows = [_quantise_rows(part) for part in linear.weight.detach().split(ROWS_AT_ONCE)]
        weight, scale = torch.cat([r[0] for r in rows]), torch.cat([r[1] for r in rows])
        bias = None if linear.bias is None else linear.bias.detach().float()
        return cls(weight, scale, bias)

    def tensors(self, name: str) -> dict[str, torch.Tensor]:
        """What a file keeps of the layer, under `name`."""
        kept = {f"{name}.weight": self.weight_t.t(), f"{name}.scale": self.scale.reshape(-1)}
        return kept if self.bias is None else {**kept, f"{name}.bias": self.bias}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features)
        quantised, row_scale = _quantise_rows(rows)
        out = torch._int_mm(quantised, self.weight_t).float() * (row_scale * self.scale)
        if self.bias is not None:
            out += self.bias
        return out.to(x.dtype).view(*x.shape[:-1], self.out_features)


class Float32Rows(torch.nn.Module):
    """An embedding kept in its 16-bit format that hands its rows on as fp32: they widen to
    fp32 exactly, so the model computes what it would with an fp32 copy, in half the memory
    (0.47 GB less for the 1.5B model's 151,936 x 1,536 table)."""

    def __init__(self, embedding: torch.nn.Embedding):
        super().__init__()
        self.embedding = embedding

    @property
    def weight(self) -> torch.Tensor:  # what callers of get_input_embeddings() read
        return self.embedding.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(ids).float()


def int8_model(model: torch.nn.Module, kept: Path) -> torch.nn.Module:
    """`model` (a 16-bit causal LM) with its Linear layers in int8 and the rest computing in
    fp32. The layers come from the file `kept` where an earlier process wrote them, else they
    are quantised and written there; either way the same numbers."""
    linears = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    layers = _read(kept, linears)
    if layers is None:
        layers = {name: Int8Linear.from_linear(linear) for name, linear in linears.items()}
        _write(kept, layers)
    for name, layer in layers.items():
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent), child, layer)
    rows = Float32Rows(model.get_input_embeddings())
    for module in model.modules():  # the rest (norms, biases) in fp32, as model.float() would
        if module is not rows.embedding:
            module._apply(lambda t: t.float() if t.is_floating_point() else t, recurse=False)
    model.set_input_embeddings(rows)
    return model


def _read(kept: Path, linears: dict[str, torch.nn.Linear]) -> dict[str, Int8Linear] | None:
    """The int8 layers the file holds for `linears`, or None when it is missing or holds
    other ones (another model, an older format)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not kept.exists():
        return None
    try:
        tensors = load_file(str(kept))
    except (OSError, SafetensorError) as exc:
        log.warning("ignoring unreadable int8 layers %s: %s", kept, exc)
        return None
    layers = {}
    for name, linear in linears.items():
        weight, scale = tensors.get(f"{name}.weight"), tensors.get(f"{name}.scale")
        if weight is None or scale is None or weight.shape != linear.weight.shape:
            log.warning("%s holds other layers than the model's: quantising again", kept)
            return None
        layers[name] = Int8Linear(weight, scale, tensors.get(f"{name}.bias"))
    for tensor in tensors.values():  # the file is mapped, not read: read it now, while the
        tensor.max()  # rest loads, rather than page by page inside the first question
    os.utime(kept)  # used: the newest files are the ones kept
    return layers


def _write(kept: Path, layers: dict[str, Int8Linear]) -> None:
    """The int8 layers in `kept`, written whole (cache_files.py)."""
    from safetensors.torch import save_file

    tensors = {key: t for name, layer in layers.items() for key, t in layer.tensors(name).items()}
    if write_whole(kept, lambda path: save_file(tensors, str(path))):
        keep_newest(kept.parent, f"*{kept.suffix}", KEEP, kept)
