"""Questions too long, too many passages, or nothing at all: a clear error at once, through
the Python API, retrieval and the Gradio API, never a hang or a huge allocation."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.qa import QA
from app.settings import Settings
from app.web.server import launch
from app.web.service import WebService
from indexing.errors import MinigiantError
from tests.conftest import FACTS
from tests.test_web_e2e import free_port

QUESTION = FACTS["notes.txt"][2]
BAD = [
    ("x" * 100_000, {}, "limit"),
    ("", {}, "empty"),
    ("   \n\t", {}, "empty"),
    (QUESTION, {"top_n": 10_000}, "top_n"),
    (QUESTION, {"top_n": 0}, "top_n"),
]
PROMPT_SECONDS = 2.0  # refusing must not wait for retrieval or generation


@pytest.fixture(scope="module")
def qa(built_index: Path) -> QA:
    return QA.open(built_index)


@pytest.mark.parametrize(("question", "options", "message"), BAD)
def test_python_api_refuses_at_once(qa: QA, question: str, options: dict, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(MinigiantError, match=message):
        qa.ask(question, **options)
    if "top_n" not in options:  # retrieval alone may go deeper (eval asks for 300)
        with pytest.raises(MinigiantError, match=message):
            qa.retrieve(question)
    assert time.perf_counter() - started < PROMPT_SECONDS


@pytest.mark.parametrize("field", ["dense_k", "lexical_k", "rerank_k", "top_n"])
def test_settings_refuse_ten_thousand_candidates(field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings(retrieval={field: 10_000})


@pytest.fixture(scope="module")
def gradio_url(tmp_path_factory: pytest.TempPathFactory, built_index: Path) -> Iterator[str]:
    root = tmp_path_factory.mktemp("limits") / "idx"
    shutil.copytree(built_index, root)
    port = free_port()
    demo = launch(WebService(Settings(index=root, web={"port": port})), block=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.mark.slow
def test_gradio_api_refuses_with_the_reason(gradio_url: str) -> None:
    from gradio_client import Client

    client = Client(gradio_url, verbose=False)
    for question, options, message in BAD:
        started = time.perf_counter()
        with pytest.raises(Exception, match=message):
            client.predict(question, options.get("top_n", 5), api_name="/ask")
        assert time.perf_counter() - started < 5 * PROMPT_SECONDS
    assert client.predict(QUESTION, 1, api_name="/ask")["text"]  # and the server still answers
