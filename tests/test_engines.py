"""The two engines besides the default: an OpenAI-compatible server and transformers."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import QA, Settings
from generation.answerability import REFUSAL_OPENINGS, logit
from generation.condense import Turn, rewrite_messages
from generation.engines import GeneratorSettings, make_generator
from generation.engines.local_server import free_port, llama_server
from generation.engines.lookup_decoding import draft
from generation.engines.prefix_store import KEEP, PrefixStore
from generation.prompt import ABSTAIN, build_messages, verification_messages
from indexing.errors import MinigiantError
from indexing.models import resolve_model
from retrieval.passages import Passage
from tests.conftest import FACTS

GGUF = "SmolLM2-135M-Instruct-Q4_1.gguf"


@pytest.fixture(scope="module")
def llama_server_url() -> Iterator[str]:
    """llama-cpp-python's own OpenAI-compatible server with the packaged GGUF, on loopback."""
    with llama_server(resolve_model(GGUF, "test"), alias="smollm2") as base:
        yield base


def passage(text: str, title: str) -> Passage:
    return Passage(1, "u", "s", title, text, 0, len(text))


def test_openai_engine_streams_from_a_real_server(llama_server_url: str) -> None:
    generator = make_generator(
        GeneratorSettings(engine="openai", base_url=llama_server_url, model="smollm2")
    )
    title, text, question = FACTS["report.pdf"]
    pieces = list(generator.stream(build_messages(question, [passage(text, title)]), 60, 0.0))
    assert len(pieces) > 1 and "".join(pieces).strip()


def test_qa_answers_through_the_server(llama_server_url: str, built_index: Path) -> None:
    settings = Settings(
        index=built_index,
        generator={"engine": "openai", "base_url": llama_server_url, "model": "smollm2"},
    )
    answer = QA(settings).ask(FACTS["page.html"][2])
    assert answer.text and answer.model == "smollm2"
    assert all(1 <= c.number <= len(answer.passages) for c in answer.citations)


def test_server_that_does_not_answer_gives_a_clear_error() -> None:
    generator = make_generator(
        GeneratorSettings(
            engine="openai", base_url=f"http://127.0.0.1:{free_port()}/v1", model="x", timeout_s=5
        )
    )
    with pytest.raises(MinigiantError, match="did not answer"):
        list(generator.stream([{"role": "user", "content": "hi"}], 5, 0.0))


def test_openai_engine_needs_a_base_url() -> None:
    with pytest.raises(MinigiantError, match="base_url"):
        make_generator(GeneratorSettings(engine="openai", model="x"))


@pytest.mark.slow
def test_transformers_engine_reads_the_packaged_gguf() -> None:
    generator = make_generator(GeneratorSettings(engine="transformers", model=GGUF, device="cpu"))
    title, text, question = FACTS["memo.docx"]
    answer = "".join(generator.stream(build_messages(question, [passage(text, title)]), 30, 0.0))
    assert answer.strip()


def test_the_generator_in_int8_predicts_the_tokens_fp32_predicts() -> None:
    import torch

    settings = GeneratorSettings(engine="transformers", model=GGUF, device="cpu")
    full = make_generator(settings.model_copy(update={"dtype": "float32"}))
    int8 = make_generator(settings.model_copy(update={"dtype": "int8"}))
    assert int8.precision == "int8" and int8.model is not full.model
    title, text, question = FACTS["notes.txt"]
    ids = torch.tensor([full._prompt_ids(build_messages(question, [passage(text, title)]))])
    with torch.inference_mode():
        expected, got = (g.model(input_ids=ids).logits[0].argmax(-1) for g in (full, int8))
    assert float((expected == got).float().mean()) >= 0.9


def test_lookup_drafts_continue_the_latest_match_inside_the_prompt() -> None:
    prompt = [5, 6, 7, 8, 9, 5, 6, 1, 2]
    # the answer so far ends in 5, 6: the latest prompt match (index 5) was followed by 1, 2
    assert draft([*prompt, 3, 5, 6], len(prompt), 4) == [1, 2]
    assert draft([*prompt, 7], len(prompt), 2) == [8, 9]  # a 1-gram match when no longer one
    assert draft([*prompt, 42], len(prompt), 4) == []


@pytest.mark.slow
def test_lookup_decoding_and_the_reused_cache_change_no_answer() -> None:
    """Greedy with prompt-lookup drafts over a cache kept from the last prompt writes what
    plain greedy writes from scratch (fp32, so batched and single-token passes agree)."""
    settings = GeneratorSettings(engine="transformers", model=GGUF, device="cpu", dtype="float32")
    lookup = make_generator(settings.model_copy(update={"prompt_lookup_tokens": 8}))
    plain = make_generator(settings.model_copy(update={"prompt_lookup_tokens": 0}))
    for name in ("memo.docx", "notes.txt"):
        title, text, question = FACTS[name]
        messages = build_messages(question, [passage(text, title)])
        usage: dict[str, int] = {}
        drafted = "".join(lookup.stream(messages, 40, 0.0, usage))
        assert drafted == "".join(plain.stream(messages, 40, 0.0)), name
        assert usage["prompt_tokens"] > 100 and 0 < usage["completion_tokens"] <= 40
    assert lookup._caches.prompts  # the second question started from the first one's cache


@pytest.mark.slow
def test_the_answer_reads_only_what_the_refusal_probe_did_not() -> None:
    """The yes/no probe reads sources and question first; the answer's prompt then starts from
    its cache, with only the probe's question cut away."""
    settings = GeneratorSettings(engine="transformers", model=GGUF, device="cpu", dtype="float32")
    generator = make_generator(settings)
    title, text, question = FACTS["notes.txt"]
    verify = verification_messages(question, [passage(text, title)])
    no, yes = generator.opening_probabilities(verify, REFUSAL_OPENINGS)
    assert 0.0 < no < 1.0 and 0.0 < yes < 1.0 and no + yes <= 1.0
    ids = generator._prompt_ids(build_messages(question, [passage(text, title)]))
    cache, _ = generator._caches.take(ids)
    assert cache is not None and len(ids) - 8 <= cache.get_seq_length() < len(ids)


@pytest.mark.slow
def test_a_rewrite_between_two_answers_keeps_the_answer_prefix_cached() -> None:
    settings = GeneratorSettings(engine="transformers", model=GGUF, device="cpu", dtype="float32")
    generator = make_generator(settings)
    answers = [
        build_messages(question, [passage(text, title)])
        for title, text, question in (FACTS["notes.txt"], FACTS["guide.md"])
    ]
    "".join(generator.stream(answers[0], 5, 0.0))
    rewrite = rewrite_messages("and then?", [Turn("user", FACTS["notes.txt"][2])])
    "".join(generator.stream(rewrite, 5, 0.0))
    ids = generator._prompt_ids(answers[1])
    shared = generator._prompt_ids(answers[0])
    prefix = next(i for i, (a, b) in enumerate(zip(ids, shared, strict=False)) if a != b)
    usage: dict[str, int] = {}
    "".join(generator.stream(answers[1], 5, 0.0, usage))
    assert prefix > 200 and usage["cached_tokens"] == prefix


@pytest.mark.slow
def test_a_new_process_starts_from_the_prefix_kept_on_disk(tmp_path: Path) -> None:
    """The first answer writes the fixed part's cache to disk; a new engine (as in a new
    process) reads only what follows it, and writes what one reading everything writes.
    Another prompt's fixed part (a follow-up rewrite's) keeps a file of its own."""
    settings = GeneratorSettings(engine="transformers", model=GGUF, device="cpu", dtype="float32")
    rewriter, first, second, again = (make_generator(settings) for _ in range(4))
    for engine in (rewriter, first, second, again):  # one folder, each process its own reading
        engine._disk = PrefixStore(tmp_path, "smollm2")
    rewrite = rewrite_messages("and then?", [Turn("user", "What is new?")])
    "".join(rewriter.stream(rewrite, 5, 0.0))
    before = rewriter._disk.load(rewriter.model.config, "cpu")
    assert before is not None
    title, text, question = FACTS["memo.docx"]
    messages = build_messages(question, [passage(text, title)])
    "".join(first.stream(messages, 10, 0.0))
    fixed = first._prompt_ids(messages[:-1], reply=False)
    stored = first._disk.load(first.model.config, "cpu")
    assert stored is not None and stored[0] == fixed != before[0]
    assert stored[1].get_seq_length() == len(fixed)
    assert len(fixed) > 200 and sorted(tmp_path.iterdir()) == sorted(
        [rewriter._disk.path, first._disk.path]
    )

    title, text, question = FACTS["notes.txt"]
    other = build_messages(question, [passage(text, title)])
    ids = second._prompt_ids(other)
    assert second._fixed_ids(other, ids) == fixed
    cache, _ = second._caches.take(ids)
    assert cache is not None and cache.get_seq_length() == len(fixed)
    second._caches.put(ids[: len(fixed)], cache)
    alone = make_generator(settings.model_copy(update={"disk_prompt_cache": False}))
    assert "".join(second.stream(other, 30, 0.0)) == "".join(alone.stream(other, 30, 0.0))
    again._fixed_ids(rewrite, again._prompt_ids(rewrite))  # the rewrite's file is still there
    assert again._disk.held == before[0]


def test_writing_a_prompt_prefix_removes_the_least_recently_used_ones(tmp_path: Path) -> None:
    import torch
    from transformers import DynamicCache

    cache = DynamicCache(ddp_cache_data=[(torch.zeros(1, 1, 3, 2), torch.ones(1, 1, 3, 2))])
    first = PrefixStore(tmp_path, "v0")
    first.save([1, 2, 3], cache)
    older = [PrefixStore(tmp_path, f"v{age}").file_for([1, 2, 3]) for age in range(1, KEEP + 2)]
    for age, path in enumerate([first.path, *older]):  # v0 oldest, then v1, v2, ...
        if path != first.path:
            shutil.copy(first.path, path)
        os.utime(path, (1_000_000 + age, 1_000_000 + age))
    loaded = first.load(None, "cpu")  # reading it makes it the most recently used
    assert loaded is not None and loaded[0] == [1, 2, 3]
    new = PrefixStore(tmp_path, "new")
    new.save([1, 2], cache)
    kept = {path.name for path in tmp_path.iterdir()}
    youngest = {path.name for path in older[-(KEEP - 2) :]}
    assert kept == {new.path.name, first.path.name, *youngest}


@pytest.mark.slow
def test_the_doubt_probe_leaves_the_answer_unchanged_and_can_abstain(built_index: Path) -> None:
    """The probe reads the prompt into the cache the answer then starts from; at a threshold
    below any probability every question gets the abstention without generating."""
    settings = GeneratorSettings(engine="transformers", model=GGUF, device="cpu", dtype="float32")
    probed = make_generator(settings.model_copy(update={"prompt_lookup_tokens": 0}))
    plain = make_generator(settings.model_copy(update={"prompt_lookup_tokens": 0}))
    title, text, question = FACTS["notes.txt"]
    messages = build_messages(question, [passage(text, title)])
    (doubt,) = probed.opening_probabilities(messages, [ABSTAIN])
    assert 0.0 < doubt < 1.0
    assert probed._caches.prompts  # the prompt is in the cache
    assert "".join(probed.stream(messages, 30, 0.0)) == "".join(plain.stream(messages, 30, 0.0))

    always = settings.model_copy(update={"abstain_above": 1e-12})
    qa = QA.open(built_index, Settings(generator=always))
    answer = qa.ask(question)
    assert answer.abstained and answer.text == ABSTAIN
    assert answer.doubt is not None and answer.doubt >= 1e-12
    # asked again: the probe's prompt is cached whole, and is read from its last token
    again = qa.ask(question)
    assert again.abstained and again.doubt == pytest.approx(answer.doubt, rel=1e-3)


def test_llama_cpp_reads_the_probes_and_answers_as_without_them(built_index: Path) -> None:
    """llama.cpp gives the gate its probabilities from the prompt's last logits; the prompt
    stays in its context, and the answer after the probes is the one it gives without them."""
    probed = make_generator(GeneratorSettings(engine="llama_cpp", model=GGUF))
    # another context size loads a separate context that never saw the probes
    plain = make_generator(GeneratorSettings(engine="llama_cpp", model=GGUF, context_tokens=2048))
    title, text, question = FACTS["notes.txt"]
    sources = [passage(text, title)]
    no, yes = probed.opening_probabilities(
        verification_messages(question, sources), REFUSAL_OPENINGS
    )
    assert 0.0 < no < 1.0 and 0.0 < yes < 1.0 and no + yes <= 1.0
    messages = build_messages(question, sources)
    (doubt,) = probed.opening_probabilities(messages, [ABSTAIN])
    (again,) = probed.opening_probabilities(messages, [ABSTAIN])
    # read again from the cached prompt's last token alone, which llama.cpp computes with
    # other kernels than the batch it first read it in (544 tokens here: 512 + 32), so the two
    # agree to rounding: 0.0064 against 0.0057, 0.11 apart in log-odds, where the gate weighs
    # log-odds by 0.25
    assert 0.0 < doubt < 1.0 and abs(logit(again) - logit(doubt)) < 0.25
    assert "".join(probed.stream(messages, 30, 0.0)) == "".join(plain.stream(messages, 30, 0.0))

    always = GeneratorSettings(engine="llama_cpp", model=GGUF, abstain_above=1e-12)
    answer = QA.open(built_index, Settings(generator=always)).ask(question)
    assert answer.abstained and answer.text == ABSTAIN and answer.doubt is not None


@pytest.mark.slow
def test_llama_cpp_reads_a_question_alike_whatever_was_asked_before() -> None:
    """The context keeps only the prompt's fixed part for a new question, not the few tokens
    another question's turn shares with it, so its probabilities (and the gate's decision)
    do not depend on the question before it. The default generator: the 135M model's short
    prompts read alike either way, the 1.5B model's moved by up to 0.08 in log-odds."""
    engine = make_generator(GeneratorSettings(engine="llama_cpp", context_tokens=1536))
    asked = [(q, [passage(text, title)]) for title, text, q in FACTS.values()]

    def probe(k: int) -> list[float]:
        return engine.opening_probabilities(verification_messages(*asked[k]), REFUSAL_OPENINGS)

    first = probe(0)
    for k in range(1, len(asked)):
        probe(k)
        engine.opening_probabilities(build_messages(*asked[k]), [ABSTAIN])
        assert probe(0) == first


def test_llama_cpp_keeps_the_answer_prefix_through_a_rewrite_between_two_answers() -> None:
    """A follow-up's rewrite is another prompt in the same context; the answer after it
    starts from the answer prefix kept in memory, not from the start (on two AVX2 cores the
    1.5B model's first token after a rewrite came 19.4 s after the question instead of 8.3 s),
    and answers as a context that never saw the rewrite."""
    engine = make_generator(GeneratorSettings(engine="llama_cpp", model=GGUF, context_tokens=1664))
    plain = make_generator(GeneratorSettings(engine="llama_cpp", model=GGUF, context_tokens=1408))
    answers = [
        build_messages(question, [passage(text, title)])
        for title, text, question in (FACTS["notes.txt"], FACTS["guide.md"])
    ]
    "".join(engine.stream(answers[0], 5, 0.0))
    rewrite = rewrite_messages("and then?", [Turn("user", FACTS["notes.txt"][2])])
    usage: dict[str, int] = {}
    "".join(engine.stream(rewrite, 5, 0.0, usage))
    assert usage["cached_tokens"] < 16  # nothing of the answer's prompt serves the rewrite
    answer = "".join(engine.stream(answers[1], 30, 0.0, usage))
    fixed = engine._prompt_ids(answers[1][:-1], reply=False)  # instructions and examples
    assert len(fixed) > 200 and usage["cached_tokens"] == len(fixed)
    assert usage["prompt_tokens"] == len(engine._prompt_ids(answers[1]))  # template included
    assert usage["completion_tokens"] == len(engine.llm.tokenize(answer.encode(), add_bos=False))
    assert answer == "".join(plain.stream(answers[1], 30, 0.0))


def test_llama_cpp_starts_a_new_context_from_the_prefix_kept_on_disk(tmp_path: Path) -> None:
    """As with transformers: the first answer writes the fixed part's llama.cpp state; a
    fresh context (another process) loads it instead of reading it, and answers the same."""

    def engine(context_tokens: int, disk: bool = True):  # each size is a context of its own
        settings = GeneratorSettings(
            engine="llama_cpp", model=GGUF, context_tokens=context_tokens, disk_prompt_cache=disk
        )
        generator = make_generator(settings)
        if disk:
            generator._disk = PrefixStore(tmp_path, "smollm2", ".llama-state")
        return generator

    first = engine(3072)
    title, text, question = FACTS["memo.docx"]
    "".join(first.stream(build_messages(question, [passage(text, title)]), 10, 0.0))
    assert list(tmp_path.iterdir()) == [first._disk.path]
    assert first._disk.path.name.startswith("prefix-smollm2-")
    assert first._disk.held is not None and len(first._disk.held) > 200

    second = engine(2560)
    title, text, question = FACTS["notes.txt"]
    other = build_messages(question, [passage(text, title)])
    answer = "".join(second.stream(other, 30, 0.0))
    assert second._disk.held == first._disk.held
    assert answer == "".join(engine(1024, disk=False).stream(other, 30, 0.0))


def test_a_damaged_llama_cpp_prefix_file_costs_speed_not_the_answer(tmp_path: Path) -> None:
    """A truncated or foreign state file is ignored (a warning) and written anew: the answer
    is the one a context writing the file for the first time gives."""
    title, text, question = FACTS["memo.docx"]
    messages = build_messages(question, [passage(text, title)])
    clean = make_generator(GeneratorSettings(engine="llama_cpp", model=GGUF, context_tokens=1280))
    clean._disk = PrefixStore(tmp_path / "clean", "smollm2", ".llama-state")
    expected = "".join(clean.stream(messages, 20, 0.0))
    assert clean._disk.path.exists()
    path = tmp_path / clean._disk.path.name  # the same fixed part: the same name
    for size, damage in ((1536, b"\0" * 5000), (1792, b"GGUF" + os.urandom(4000))):
        path.write_bytes(damage)
        settings = GeneratorSettings(engine="llama_cpp", model=GGUF, context_tokens=size)
        generator = make_generator(settings)
        generator._disk = PrefixStore(tmp_path, "smollm2", ".llama-state")
        assert "".join(generator.stream(messages, 20, 0.0)) == expected
        assert path.read_bytes() != damage  # the fixed part was written anew
