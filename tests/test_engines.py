"""The two engines besides the default: an OpenAI-compatible server and transformers."""

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import QA, Settings
from generation.engines import GeneratorSettings, make_generator
from generation.prompt import build_messages
from indexing.errors import MinigiantError
from indexing.models import resolve_model
from retrieval.passages import Passage
from tests.conftest import FACTS

GGUF = "SmolLM2-135M-Instruct-Q4_1.gguf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """llama-cpp-python's own OpenAI-compatible server with the packaged GGUF, on loopback."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            resolve_model(GGUF, "test"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--model_alias",
            "smollm2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/models", timeout=2)
            break
        except OSError:
            assert proc.poll() is None, "llama_cpp.server exited"
            time.sleep(0.5)
    else:
        proc.kill()
        raise AssertionError("llama_cpp.server never answered")
    yield base
    proc.terminate()
    proc.wait(timeout=30)


def passage(text: str, title: str) -> Passage:
    return Passage(1, "u", "s", title, text, 0, len(text))


def test_openai_engine_streams_from_a_real_server(llama_server: str) -> None:
    generator = make_generator(
        GeneratorSettings(engine="openai", base_url=llama_server, model="smollm2")
    )
    title, text, question = FACTS["report.pdf"]
    pieces = list(generator.stream(build_messages(question, [passage(text, title)]), 60, 0.0))
    assert len(pieces) > 1 and "".join(pieces).strip()


def test_qa_answers_through_the_server(llama_server: str, built_index: Path) -> None:
    settings = Settings(
        index=built_index,
        generator={"engine": "openai", "base_url": llama_server, "model": "smollm2"},
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
