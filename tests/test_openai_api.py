"""The OpenAI door, driven by the real `openai` package and LangChain's ChatOpenAI against a
real server on loopback (the tests' small generator answers)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from app.settings import Settings
from app.web.server import launch
from app.web.service import WebService
from tests.conftest import FACTS
from tests.test_web_e2e import free_port

USER, PASSWORD = "ann", "s3cret-key"
QUESTION = FACTS["notes.txt"][2]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, built_index: Path) -> Iterator[str]:
    """The /v1 base URL of a password-protected server over a copy of the test index."""
    root = tmp_path_factory.mktemp("openai") / "idx"
    shutil.copytree(built_index, root)
    port = free_port()
    settings = Settings(
        index=root,
        conversation={"rewrite": "concat"},  # deterministic follow-ups for the test
        web={"auth": f"{USER}:{PASSWORD}", "port": port, "requests_per_minute": 1000},
    )
    demo = launch(WebService(settings), block=False)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        demo.close()


@pytest.fixture(scope="module")
def client(server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server, api_key=PASSWORD, max_retries=0, timeout=120)


def test_models_lists_minigiant_and_each_generator(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids[0] == "minigiant" and len(ids) >= 2


def test_a_completion_carries_markers_sources_and_verdicts(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="minigiant",
        messages=[{"role": "system", "content": "ignored"}, {"role": "user", "content": QUESTION}],
    )
    text = reply.choices[0].message.content
    details = reply.model_extra["minigiant"]
    assert reply.object == "chat.completion" and reply.choices[0].finish_reason == "stop"
    assert text and text == details["text"]
    assert Path(details["passages"][0]["source"]).name == "notes.txt"
    assert details["question"] == QUESTION and details["standalone"] is None
    assert reply.usage.prompt_tokens > 0
    for citation in details["citations"]:
        assert f"[{citation['number']}]" in text


def test_a_streamed_completion_adds_up_to_the_same_answer(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="minigiant",
            messages=[{"role": "user", "content": QUESTION}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and last.usage.total_tokens > 0
    details = last.model_extra["minigiant"]
    assert streamed.strip() == details["text"] and len(chunks) > 3
    assert Path(details["passages"][0]["source"]).name == "notes.txt"


def test_usage_counts_the_answer_and_the_prompt_tokens_not_read_again(
    client: openai.OpenAI,
) -> None:
    """Asked twice, the second reading starts from the kept instructions and examples, which
    OpenAI's clients read as cached tokens."""
    ask = [{"role": "user", "content": FACTS["guide.md"][2]}]
    first = client.chat.completions.create(model="minigiant", messages=ask).usage
    again = client.chat.completions.create(model="minigiant", messages=ask).usage
    assert again.prompt_tokens == first.prompt_tokens > 100 and again.completion_tokens > 0
    assert again.total_tokens == again.prompt_tokens + again.completion_tokens
    assert 100 < again.prompt_tokens_details.cached_tokens < again.prompt_tokens


def test_a_follow_up_is_read_with_the_conversation(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="minigiant",
        messages=[
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": "4,812 containers [1]."},
            {"role": "user", "content": "And what colour are the cranes there?"},
        ],
    )
    details = reply.model_extra["minigiant"]
    assert QUESTION in details["standalone"] and details["history_turns"] == 2


def test_bad_requests_get_openai_errors(server: str, client: openai.OpenAI) -> None:
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server, api_key="wrong", max_retries=0).models.list()
    with pytest.raises(openai.NotFoundError, match="GET /v1/models"):
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": QUESTION}]
        )
    with pytest.raises(openai.BadRequestError, match="last message"):
        client.chat.completions.create(
            model="minigiant", messages=[{"role": "assistant", "content": "hi"}]
        )
    with pytest.raises(openai.BadRequestError, match="messages"):
        client.chat.completions.create(model="minigiant", messages=[])
    with pytest.raises(openai.BadRequestError, match="empty"):
        client.chat.completions.create(
            model="minigiant", messages=[{"role": "user", "content": "  "}]
        )
    raw = httpx.post(
        f"{server}/chat/completions",
        content=b"not json",
        headers={"Authorization": f"Bearer {USER}:{PASSWORD}"},
    )
    assert raw.status_code == 400 and "JSON" in raw.json()["error"]["message"]


def test_langchain_chat_openai_uses_minigiant_as_a_model(server: str) -> None:
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(base_url=server, api_key=PASSWORD, model="minigiant", max_retries=0)
    message = chat.invoke(QUESTION)
    assert message.content and isinstance(message.content, str)
    streamed = "".join(str(chunk.content) for chunk in chat.stream(QUESTION))
    assert streamed.strip() == message.content.strip()  # greedy: the same answer both ways
