"""The one rule that decides which number format a model computes in on the machine at hand.

CUDA: fp16. CPUs with AMX or AVX-512-BF16 tiles: bf16, which torch runs through oneDNN at
several times fp32's speed (Qwen2.5-1.5B reads a prompt 5x faster than a portable llama.cpp
build here, bench/generator_engines.py). Elsewhere fp32. A setting can force any of them.
"""

from __future__ import annotations

import functools
import logging
import os
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


def usable_cpus() -> set[int]:
    """The logical CPUs this process may run on (a container's limit included)."""
    if hasattr(os, "sched_getaffinity"):
        return os.sched_getaffinity(0)
    return set(range(os.cpu_count() or 1))


@functools.cache
def math_threads() -> int:
    """One thread per physical core among the usable CPUs: SMT siblings share a core's math
    units, which is why llama.cpp's Python binding defaults to half the logical CPUs; where
    cores have no sibling (this project's 2-core machine) that default left one core idle
    while decoding (Qwen2.5-1.5B: 16 -> 21 tokens/s with both)."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    usable = usable_cpus()
    return physical_cores(cpuinfo, usable) or len(usable)


def llama_threads(requested: int | None) -> tuple[int, int]:
    """(decoding, prompt-reading) threads for llama.cpp: `requested` for both when set, else
    one per physical core to decode (memory-bound) and every usable CPU to read prompts."""
    if requested is not None:
        return requested, requested
    return math_threads(), len(usable_cpus())


def physical_cores(cpuinfo: str, usable: set[int]) -> int:
    """Distinct (package, core) pairs of the usable processors in /proc/cpuinfo's text; 0
    where it names none (ARM, macOS)."""
    cores, processor, package = set(), -1, ""
    for line in cpuinfo.splitlines():
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "processor":
            processor, package = int(value), ""
        elif key == "physical id":
            package = value
        elif key == "core id" and processor in usable:
            cores.add((package, value))
    return len(cores)


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
