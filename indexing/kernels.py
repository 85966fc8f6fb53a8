"""The one rule that decides which number format a model computes in on the machine at hand.

CUDA: fp16. CPUs with AMX or AVX-512-BF16 tiles: bf16, which torch runs through oneDNN at
several times fp32's speed (Qwen2.5-1.5B reads a prompt 5x faster than a portable llama.cpp
build here, bench/generator_engines.py); a generator on a CPU with AVX-512 VNNI and no AMX
runs its Linear layers in int8 (indexing/int8_linear.py), faster again than bf16 there.
Elsewhere fp32, and for the small encoders fp32 on OpenVINO's kernels where it is installed
(the same numbers, 1.1-1.2x faster on two AVX2 cores: indexing/openvino_kernels.py). A
setting can force any of them, and int8 (dynamic int8 Linear layers, CPU only) for the small
encoders: faster still, but it moves their ranking (bench/README.md), so auto never picks it.
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

Precision = Literal["auto", "float32", "bfloat16", "float16"]
# a generator can also run its Linear layers in int8 on a CPU (indexing/int8_linear.py)
GeneratorPrecision = Literal["auto", "float32", "bfloat16", "float16", "int8"]
# the small encoders (embedder, reranker, checker) can also run on a CPU in int8, or in fp32
# on OpenVINO's kernels
EncoderPrecision = Literal["auto", "float32", "bfloat16", "float16", "int8", "openvino"]
CPU_ONLY = ("int8", "openvino")

BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})
# int8 dot products in one 512-bit instruction (the CPU int8 was measured on; AVX-VNNI's
# 256-bit form was not); AMX machines keep bf16
VNNI_FLAGS = frozenset({"avx512_vnni"})
AMX_FLAGS = frozenset({"amx_bf16", "amx_int8"})


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
    choice, why = _choose(device, requested)
    _log_once(device, choice, why)
    return choice


def encoder_precision(device: str, requested: EncoderPrecision = "auto") -> str:
    """best_precision for a small encoder: on a CPU without bf16 instructions auto picks fp32
    on OpenVINO where it is installed. int8 and openvino are CPU formats: a GPU gets its float
    one, and openvino falls back to torch's fp32 where the package is missing."""
    from indexing.openvino_kernels import openvino_installed

    if requested in CPU_ONLY:
        if device != "cpu":
            choice, why = _choose(device, "auto")
        elif requested == "openvino" and not openvino_installed():
            choice, why = "float32", "openvino set in settings but not installed"
        else:
            choice, why = requested, "set in settings"
    else:
        choice, why = _choose(device, requested)
        if requested == "auto" and choice == "float32" and device == "cpu" and openvino_installed():
            choice, why = "openvino", why + ": fp32 on OpenVINO's kernels"
    _log_once(device, choice, why)
    return choice


def generator_precision(device: str, requested: GeneratorPrecision = "auto") -> str:
    """best_precision for a generator: auto picks int8 Linear layers on a CPU with AVX-512
    VNNI and without AMX. There Qwen2.5-1.5B gave its first token 0.76x as late and decoded
    1.26x as fast as in bf16 (bench/generator_engines.py); with AMX, bf16 read 266 tokens/s
    on the machine this project began on, and int8 was never measured there. int8 is a CPU
    format: a GPU gets its float one."""
    if requested == "int8" and device == "cpu":
        choice, why = "int8", "set in settings"
    elif requested == "auto" and device == "cpu" and _int8_cpu():
        choice, why = "int8", "CPU has " + ", ".join(sorted(VNNI_FLAGS & cpu_flags()))
    else:
        choice, why = _choose(device, "auto" if requested == "int8" else requested)
    _log_once(device, choice, why)
    return choice


def _int8_cpu() -> bool:
    flags = cpu_flags()
    return bool(VNNI_FLAGS & flags) and not AMX_FLAGS & flags


def _choose(device: str, requested: str) -> tuple[str, str]:
    if requested != "auto":
        return requested, "set in settings"
    if device.startswith(("cuda", "mps")):
        return "float16", device
    if BF16_FLAGS & cpu_flags():
        return "bfloat16", "CPU has " + ", ".join(sorted(BF16_FLAGS & cpu_flags()))
    return "float32", "CPU without bf16 instructions"


def quantize_int8(model):
    """`model`, its Linear layers swapped in place for dynamic int8 ones, weights quantised per
    output channel: per tensor, one outlier row coarsens the whole matrix (the embedder's
    SciFact slice nDCG@10 fell 0.011 that way, bench/embedder_kernels.py)."""
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig

    linears = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    with warnings.catch_warnings():  # torch 2.13 announces torchao as these kernels' successor
        warnings.filterwarnings("ignore", "torch.quantize_per", UserWarning)
        return torch.ao.quantization.quantize_dynamic(
            model,
            dict.fromkeys(linears, per_channel_dynamic_qconfig),
            dtype=torch.qint8,
            inplace=True,
        )


@functools.cache
def _log_once(device: str, choice: str, why: str) -> None:
    log.info("kernels on %s: %s (%s)", device, choice, why)


def torch_dtype(name: str):
    import torch

    return getattr(torch, name)
