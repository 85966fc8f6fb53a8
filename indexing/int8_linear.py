"""Linear layers in int8 on a CPU: weights per output channel, activations per token.

A generator's prompt reading is bound by multiply-adds and its decoding by reading weights;
int8 halves the bytes against bf16 and, on CPUs with VNNI dot products, doubles the
multiply-adds per instruction. torch's int8 x int8 -> int32 matmul (`torch._int_mm`, the
kernel torchao's dynamic int8 builds on) needs no prepacked weights, so quantising a 1.5B model
is a few vectorised passes instead of half a minute of fbgemm packing, and each token's own
scale keeps one token's outlier from coarsening the others. Measured on this project's
2-core AVX-512 (VNNI, BF16) machine, Qwen2.5-1.5B: bench/generator_engines.py.
"""

from __future__ import annotations

import torch

QMAX = 127.0
ROWS_AT_ONCE = 4096  # a weight is quantised this many rows at a time, to bound its float copy


def _quantise_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 per row, and each row's scale."""
    scale = x.abs().amax(dim=-1, keepdim=True).float().clamp(min=1e-8) / QMAX
    return (x.float() / scale).round_().clamp_(-QMAX, QMAX).to(torch.int8), scale


class Int8Linear(torch.nn.Module):
    """A drop-in for `torch.nn.Linear` at inference: same input and output dtype."""

    def __init__(self, linear: torch.nn.Linear):
        super().__init__()
        rows = [_quantise_rows(part) for part in linear.weight.detach().split(ROWS_AT_ONCE)]
        weight, scale = torch.cat([r[0] for r in rows]), torch.cat([r[1] for r in rows])
        # _int_mm runs fastest with the weight column-major, as the transpose of rows gives it
        self.register_buffer("weight_t", weight.t(), persistent=False)
        self.register_buffer("scale", scale.view(1, -1), persistent=False)
        bias = linear.bias
        self.register_buffer("bias", None if bias is None else bias.detach().float(), False)
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features)
        quantised, row_scale = _quantise_rows(rows)
        out = torch._int_mm(quantised, self.weight_t).float() * (row_scale * self.scale)
        if self.bias is not None:
            out += self.bias
        return out.to(x.dtype).view(*x.shape[:-1], self.out_features)


def quantise_linears(model: torch.nn.Module) -> torch.nn.Module:
    """`model` with every Linear layer swapped in place for an Int8Linear."""
    for module in list(model.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, torch.nn.Linear):
                setattr(module, child_name, Int8Linear(child))
    return model
