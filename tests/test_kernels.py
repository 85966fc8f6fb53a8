"""The one kernel rule, and what it changes in the small models' output."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from generation.engines.llama_cpp_engine import unused_instruction_sets
from indexing.embedding import Embedder
from indexing.int8_linear import Int8Linear, int8_model
from indexing.kernels import (
    AMX_FLAGS,
    BF16_FLAGS,
    VNNI_FLAGS,
    best_precision,
    cpu_flags,
    encoder_precision,
    generator_precision,
    llama_threads,
    math_threads,
    physical_cores,
    usable_cpus,
)
from indexing.openvino_kernels import openvino_installed

SENTENCES = [
    "The Tarnvik glacier retreated 212 metres between 2001 and 2021.",
    "How far did the glacier retreat?",
    "A healthy bee colony produces about 31 kilograms of honey each summer.",
    "Python's venv module creates lightweight virtual environments.",
]


def test_the_rule_follows_the_device_the_flags_and_the_setting() -> None:
    assert best_precision("cuda:0") == "float16"
    assert best_precision("cpu", "float32") == "float32"
    expected = "bfloat16" if BF16_FLAGS & cpu_flags() else "float32"
    assert best_precision("cpu") == expected
    # the small encoders: where the CPU has no bf16, fp32 on OpenVINO's kernels (the dev
    # install has them); int8 only when asked; both on a CPU only
    fp32 = "openvino" if openvino_installed() else "float32"
    encoder = "bfloat16" if BF16_FLAGS & cpu_flags() else fp32
    assert encoder_precision("cpu") == encoder
    assert Embedder("all-MiniLM-L6-v2", device="cpu").precision == encoder
    assert encoder_precision("cpu", "int8") == "int8"
    assert encoder_precision("cpu", "openvino") == fp32
    assert encoder_precision("cuda:0", "int8") == encoder_precision("cuda:0") == "float16"


def test_the_generator_gets_int8_on_a_cpu_with_vnni_and_without_amx() -> None:
    flags = cpu_flags()
    int8 = bool(VNNI_FLAGS & flags) and not AMX_FLAGS & flags
    assert generator_precision("cpu") == ("int8" if int8 else best_precision("cpu"))
    assert generator_precision("cpu", "int8") == "int8"
    assert generator_precision("cpu", "bfloat16") == "bfloat16"
    assert generator_precision("cuda:0", "int8") == generator_precision("cuda:0") == "float16"


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_an_int8_linear_layer_computes_what_the_float_one_does(dtype: str) -> None:
    import torch

    torch.manual_seed(0)
    linear = torch.nn.Linear(256, 96).to(getattr(torch, dtype))
    x = torch.randn(2, 7, 256, dtype=linear.weight.dtype)
    x[0, 3] *= 50  # one outlier token must not coarsen the others (per-token scales)
    with torch.inference_mode():
        exact, approx = linear(x), Int8Linear.from_linear(linear)(x)
    assert approx.shape == exact.shape and approx.dtype == exact.dtype
    error = (approx - exact).float().norm(dim=-1) / exact.float().norm(dim=-1)
    assert float(error.max()) < 0.03


def _tiny_causal_lm(seed: int):
    """A real transformers model small enough to build in milliseconds, in bf16."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    config = Qwen2Config(
        vocab_size=500,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16).eval()


def test_the_int8_layers_a_process_keeps_give_the_next_one_the_same_numbers(
    tmp_path: Path,
) -> None:
    """Quantising reads every bf16 page of the model (GBs resident for the 1.5B one), so the
    int8 layers are kept in a file the next process reads instead. Either way the model
    computes exactly what its Linear layers in int8 and everything else in fp32 compute."""
    import torch

    ids = torch.tensor([[3, 14, 159, 265, 358, 97, 93]])
    kept = tmp_path / "int8" / "tiny.safetensors"
    with torch.inference_mode():
        first = int8_model(_tiny_causal_lm(0), kept)
        assert kept.exists() and first.get_input_embeddings().weight.dtype == torch.bfloat16
        expected = first(input_ids=ids).logits
        assert expected.dtype == torch.float32
        reference = _tiny_causal_lm(0)
        for name, module in list(reference.named_modules()):
            if isinstance(module, torch.nn.Linear):
                parent, _, child = name.rpartition(".")
                setattr(reference.get_submodule(parent), child, Int8Linear.from_linear(module))
        assert torch.equal(reference.float()(input_ids=ids).logits, expected)
        # other Linear weights, the same embedding and norms: the kept layers are the ones read
        second = _tiny_causal_lm(0)
        for module in second.modules():
            if isinstance(module, torch.nn.Linear):
                module.weight.data.normal_()
        assert torch.equal(int8_model(second, kept)(input_ids=ids).logits, expected)
        # a model whose layers the file does not hold is quantised again, and kept instead
        wider = _tiny_causal_lm(1)
        wider.lm_head = torch.nn.Linear(64, 600, bias=False, dtype=torch.bfloat16)
        written = kept.stat().st_ino
        assert int8_model(wider, kept)(input_ids=ids).logits.shape[-1] == 600
        assert kept.stat().st_ino != written  # a new file renamed into place


@pytest.mark.parametrize("dtype", ["bfloat16", "float32", "int8", "openvino"])
def test_embeddings_in_either_format_are_unit_float32_vectors(dtype: str) -> None:
    vectors = Embedder("all-MiniLM-L6-v2", device="cpu", dtype=dtype).embed_passages(SENTENCES)
    assert vectors.dtype == np.float32 and vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


def test_bf16_embeddings_point_where_fp32_ones_do() -> None:
    full = Embedder("all-MiniLM-L6-v2", device="cpu", dtype="float32").embed_passages(SENTENCES)
    half = Embedder("all-MiniLM-L6-v2", device="cpu", dtype="bfloat16").embed_passages(SENTENCES)
    assert np.min(np.sum(full * half, axis=1)) >= 0.99
    # the question is still closest to the sentence that answers it
    assert int(np.argmax(half @ half[1])) == 1 and int(np.argsort(half @ half[1])[-2]) == 0


# not int8: its activations are scaled per batch, so a text's vector moves with its batch mates
@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_batches_side_by_side_give_each_text_its_own_vector_in_order(dtype: str) -> None:
    import torch

    texts = [f"{s} Item {i}." + " More words here." * (i % 7) for i in range(45) for s in SENTENCES]
    one = Embedder("all-MiniLM-L6-v2", device="cpu", dtype=dtype, batch_size=4, workers=1)
    three = Embedder("all-MiniLM-L6-v2", device="cpu", dtype=dtype, batch_size=4, workers=3)
    threads = torch.get_num_threads()
    side_by_side = three.embed_passages(texts)
    assert torch.get_num_threads() == threads  # the workers' own count stays theirs
    assert side_by_side.shape == (len(texts), 384)
    assert np.min(np.sum(one.embed_passages(texts) * side_by_side, axis=1)) >= 0.9999
    assert np.allclose(three.embed_passages(texts[:3]), one.embed_passages(texts[:3]), atol=1e-2)


def test_the_workers_leave_a_new_thread_the_callers_thread_count() -> None:
    import threading

    import torch

    callers = torch.get_num_threads()
    Embedder("all-MiniLM-L6-v2", device="cpu", batch_size=2, workers=2).embed_passages(SENTENCES)
    seen = []
    later = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    later.start()
    later.join()
    # torch.set_num_threads in a worker sets what threads computing later take up too
    assert seen == [callers] and torch.get_num_threads() == callers


def test_openvino_computes_what_torch_computes() -> None:
    pytest.importorskip("openvino")
    from retrieval.rerank import Reranker

    full = Embedder("all-MiniLM-L6-v2", device="cpu", dtype="float32").embed_passages(SENTENCES)
    fast = Embedder("all-MiniLM-L6-v2", device="cpu", dtype="openvino").embed_passages(SENTENCES)
    assert np.min(np.sum(full * fast, axis=1)) >= 0.9999
    passages = [SENTENCES[3], SENTENCES[2], SENTENCES[0]]
    scores = {
        dtype: Reranker("minigiant-reranker", "cpu", dtype=dtype).score(SENTENCES[1], passages)
        for dtype in ("float32", "openvino")
    }
    assert np.max(np.abs(np.subtract(scores["openvino"], scores["float32"]))) < 1e-4


def test_a_converted_model_is_kept_on_disk_and_read_back(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("openvino")
    from sentence_transformers import SentenceTransformer

    from indexing.models import resolve_model
    from indexing.openvino_kernels import run_on_openvino

    monkeypatch.setenv("MINIGIANT_MODEL_CACHE", str(tmp_path))
    path = resolve_model("all-MiniLM-L6-v2", "test")
    vectors = []
    for _ in range(2):  # converts, then reads the file the first left
        model = SentenceTransformer(path, device="cpu")
        run_on_openvino(model[0].auto_model, model.tokenizer, "last_hidden_state")
        vectors.append(model.encode(SENTENCES))
        assert len(list((tmp_path / "openvino").glob("*/model.xml"))) == 1
    assert np.array_equal(vectors[0], vectors[1])
    assert not list((tmp_path / "openvino").glob(".converting-*"))


def test_int8_embeddings_rank_as_fp32_ones_do() -> None:
    full = Embedder("all-MiniLM-L6-v2", device="cpu", dtype="float32").embed_passages(SENTENCES)
    int8 = Embedder("all-MiniLM-L6-v2", device="cpu", dtype="int8").embed_passages(SENTENCES)
    assert np.min(np.sum(full * int8, axis=1)) >= 0.95
    # an index built in one format answers a question embedded in the other
    assert int(np.argsort(full @ int8[1])[-2]) == int(np.argsort(int8 @ full[1])[-2]) == 0


def test_the_reranker_in_bf16_orders_passages_as_in_fp32() -> None:
    from retrieval.rerank import Reranker

    passages = [SENTENCES[3], SENTENCES[2], SENTENCES[0]]
    scores = {
        dtype: Reranker("minigiant-reranker", "cpu", dtype=dtype).score(SENTENCES[1], passages)
        for dtype in ("float32", "bfloat16")
    }
    assert int(np.argmax(scores["bfloat16"])) == int(np.argmax(scores["float32"])) == 2
    assert np.max(np.abs(np.subtract(scores["bfloat16"], scores["float32"]))) < 0.05


def test_the_rerankers_batches_side_by_side_score_each_passage_in_order() -> None:
    from retrieval.rerank import Reranker

    facts = [SENTENCES[0], *SENTENCES[2:]]
    passages = [f"{s} Item {i}." + " More words here." * (i % 5) for i in range(4) for s in facts]
    one, two = (
        Reranker("minigiant-reranker", "cpu", dtype="float32", batch_size=2, workers=w)
        for w in (1, 2)
    )
    alone = one.score(SENTENCES[1], passages)
    side_by_side = two.score(SENTENCES[1], passages)
    assert len(side_by_side) == len(passages)
    assert np.allclose(side_by_side, alone, atol=1e-4)
    assert passages[int(np.argmax(side_by_side))].startswith(SENTENCES[0])


def _cpuinfo(cores: list[tuple[int, int]]) -> str:
    """/proc/cpuinfo's text for processors 0, 1, ... on these (package, core) pairs."""
    return "\n\n".join(
        f"processor\t: {n}\nvendor_id\t: AuthenticAMD\nphysical id\t: {package}\n"
        f"siblings\t: 4\ncore id\t\t: {core}\ncpu cores\t: 2"
        for n, (package, core) in enumerate(cores)
    )


def test_decoding_threads_count_physical_cores_this_process_may_use() -> None:
    smt = _cpuinfo([(0, 0), (0, 1), (0, 0), (0, 1)])  # two cores, two threads each
    assert physical_cores(smt, {0, 1, 2, 3}) == 2
    assert physical_cores(smt, {0, 2}) == 1  # a container given one core's two siblings
    two_packages = _cpuinfo([(0, 0), (1, 0)])  # the same core id in two sockets
    assert physical_cores(two_packages, {0, 1}) == 2
    assert physical_cores("", {0, 1}) == 0
    assert 1 <= math_threads() <= len(usable_cpus())
    assert llama_threads(None) == (math_threads(), len(usable_cpus()))
    assert llama_threads(3) == (3, 3)  # generator.threads sets both


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_llama_cpp_is_built_for_the_instruction_sets_this_cpu_has() -> None:
    root = Path(__file__).resolve().parents[1]
    args = subprocess.run(
        ["make", "-s", "llama-cmake-args"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    flags = cpu_flags()
    avx512 = {"avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"}
    assert {"-DGGML_NATIVE=OFF", "-DGGML_AVX2=ON"} <= set(args)
    assert ("-DGGML_AVX512=ON" in args) == (avx512 <= flags)
    assert ("-DGGML_AVX512_VNNI=ON" in args) == (avx512 | {"avx512_vnni"} <= flags)
    assert ("-DGGML_AVX512_BF16=ON" in args) == (avx512 | {"avx512_bf16"} <= flags)
    assert not [a for a in args if "AMX" in a]  # crashed on a virtual machine with AMX
    # what `minigiant info` says a build lacks is what the Makefile would build for
    wanted = {a.removeprefix("-DGGML_").removesuffix("=ON") for a in args if "AVX512" in a}
    assert set(unused_instruction_sets(flags, [])) == wanted


def test_a_llama_cpp_build_without_the_cpus_avx512_is_told() -> None:
    base = {"avx2", "avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"}
    zen4 = frozenset(base | {"avx512_vnni", "avx512_bf16"})
    portable = ["AVX", "AVX2", "F16C", "FMA"]
    assert unused_instruction_sets(zen4, portable) == ["AVX512", "AVX512_VNNI", "AVX512_BF16"]
    assert unused_instruction_sets(zen4, [*portable, "AVX512", "AVX512_VNNI", "AVX512_BF16"]) == []
    # without the whole AVX-512 foundation the Makefile builds none of it
    assert unused_instruction_sets(frozenset({"avx2", "avx512f", "avx512_vnni"}), portable) == []


def test_the_checker_in_int8_is_quantised_and_judges_as_in_fp32() -> None:
    import torch

    from generation.check import CheckerSettings, FactChecker

    evidence = SENTENCES[0] + " " + SENTENCES[2]
    claims = ["The Tarnvik glacier retreated 212 metres.", "Bee colonies produce no honey."]
    scores = {}
    for dtype in ("float32", "int8"):
        checker = FactChecker(CheckerSettings(dtype=dtype))
        modules = checker._scorer.model.model.modules()
        quantised = any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in modules)
        assert quantised == (dtype == "int8")
        scores[dtype] = checker.score([(evidence, claim) for claim in claims])
    assert scores["int8"][0] > scores["int8"][1] and scores["float32"][0] > scores["float32"][1]
    assert max(abs(a - b) for a, b in zip(scores["int8"], scores["float32"], strict=True)) < 0.15
