"""The one rule that decides which number format a model computes in on the machine at hand.

CUDA: fp16. CPUs with AMX or AVX-512-BF16 tiles: bf16, which torch runs through oneDNN at
several times fp32's speed (Qwen2.5-1.5B reads a prompt 5x faster than a portable llama.cpp
build here, bench/generator_engines.py). Elsewhere fp32. A setting can force any of them.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

Precision = Literal["auto", "float32", "bfloat16", "float16"]

BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from /proc/cpuinfo; empty where there is none (macOS, Windows)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def best_precision(device: str, requested: Precision = "auto") -> str:
    """The dtype name a model on `device` should use; `requested` other than auto wins."""
    if requested != "auto":
        choice, why = requested, "set in settings"
    elif device.startswith(("cuda", "mps")):
        choice, why = "float16", device
    elif BF16_FLAGS & cpu_flags():
        choice, why = "bfloat16", "CPU has " + ", ".join(sorted(BF16_FLAGS & cpu_flags()))
    else:
        choice, why = "float32", "CPU without bf16 instructions"
    _log_once(device, choice, why)
    return choice


@functools.cache
def _log_once(device: str, choice: str, why: str) -> None:
    log.info("kernels on %s: %s (%s)", device, choice, why)


def torch_dtype(name: str):
    import torch

    return getattr(torch, name)
