"""The OpenAI chat-completions door: any OpenAI client, Open WebUI or LangChain's ChatOpenAI
can use minigiant as a grounded model.

`POST /v1/chat/completions` (a JSON reply, or server-sent events with `"stream": true`) and
`GET /v1/models`, served beside the web page. The last user message is the question and the
messages before it are the conversation (follow-ups are rewritten as in the web chat); the
client's own system messages are not used, since the answer's instructions are ours. The
reply's text carries the [n] markers; the sources, verdicts and timings travel in the extra
field `minigiant` (on the last chunk when streaming). With `web.auth` set, the API key is the
password (or user:password); the rate limit and the answer slots are the web app's.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from app.answer import Answer
from app.render import answer_json
from app.web.service import QueueFull, WebService
from indexing.errors import MinigiantError

DEFAULT_MODEL = "minigiant"


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """The fields we use; others an OpenAI client sends (top_p, seed, ...) are accepted."""

    model_config = ConfigDict(extra="allow")

    model: str = DEFAULT_MODEL
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    n: int = Field(1, ge=1, le=1)
    stream_options: dict[str, Any] | None = None
    # minigiant's own options, sent by OpenAI clients as extra body fields
    top_n: int | None = Field(None, ge=1, le=100)
    rerank: bool = True


class APIError:
    """An error in OpenAI's shape: {"error": {"message", "type", "code"}}."""

    def __init__(self, status: int, message: str, kind: str, code: str | None = None):
        self.status, self.message, self.kind, self.code = status, message, kind, code

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.kind, "code": self.code}}
        return JSONResponse(body, status_code=self.status, headers=headers)


def openai_router(service: WebService) -> APIRouter:
    router = APIRouter(prefix="/v1")
    refused = _key_check(service)
    models = {DEFAULT_MODEL: service.default_model} | {label: label for label in service.generators}

    @router.get("/models")
    def list_models(request: Request) -> Any:
        if (error := refused(request)) is not None:
            return error.response()
        return {
            "object": "list",
            "data": [
                {"id": name, "object": "model", "created": 0, "owned_by": "minigiant"}
                for name in models
            ],
        }

    @router.post("/chat/completions")
    async def chat_completions(request: Request) -> Any:
        if (error := refused(request)) is not None:
            return error.response()
        try:
            body = ChatRequest.model_validate(await request.json())
        except (ValidationError, ValueError) as exc:
            return APIError(400, _invalid(exc), "invalid_request_error").response()
        if body.model not in models:
            return APIError(
                404,
                f"unknown model {body.model!r}; GET /v1/models lists {list(models)}",
                "invalid_request_error",
                "model_not_found",
            ).response()
        *history, last = [m.model_dump() for m in body.messages]
        if last["role"] != "user":
            return APIError(
                400, "the last message must be the user's question", "invalid_request_error"
            ).response()
        completion = _Completion(service, body, models[body.model], history, last["content"])
        if body.stream:
            return StreamingResponse(completion.events(), media_type="text/event-stream")
        try:
            return await run_in_threadpool(completion.whole)
        except QueueFull as exc:
            return APIError(503, str(exc), "server_error", "queue_full").response(
                {"Retry-After": "5"}
            )
        except MinigiantError as exc:
            return APIError(400, str(exc), "invalid_request_error").response()

    return router


class _Completion:
    """One chat completion: the pipeline's answer in OpenAI's response shapes."""

    def __init__(
        self,
        service: WebService,
        body: ChatRequest,
        label: str,
        history: list[dict[str, Any]],
        question: str | list[dict[str, Any]] | None,
    ):
        self.service, self.body, self.label, self.history = service, body, label, history
        self.question = question if isinstance(question, str) else _joined_text(question)
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())

    def _stream(self):
        return self.service.ask_stream(
            self.question,
            top_n=self.body.top_n,
            rerank=self.body.rerank,
            temperature=self.body.temperature,
            model=self.label,
            history=self.history,
        )

    def whole(self) -> dict[str, Any]:
        with self.service.slot():
            stream = self._stream()
            for _ in stream:
                pass
        answer = stream.answer
        assert answer is not None
        return {
            **self._head("chat.completion"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer.text},
                    "finish_reason": "stop",
                }
            ],
            "usage": _usage(answer),
            "minigiant": answer_json(answer),
        }

    def events(self) -> Iterator[str]:
        """Server-sent events, as OpenAI streams them: a role delta, content deltas, the last
        chunk with finish_reason and our details, then [DONE]. Errors arrive as an event
        with an `error` field, since the status line has already been sent."""
        try:
            with self.service.slot():
                stream = self._stream()
                yield _event(self._chunk({"role": "assistant", "content": ""}))
                for piece in stream:
                    yield _event(self._chunk({"content": piece}))
            answer = stream.answer
            assert answer is not None
            last = self._chunk({}, finish="stop") | {"minigiant": answer_json(answer)}
            if (self.body.stream_options or {}).get("include_usage"):
                last["usage"] = _usage(answer)
            yield _event(last)
        except (MinigiantError, QueueFull) as exc:
            kind = "server_error" if isinstance(exc, QueueFull) else "invalid_request_error"
            yield _event({"error": {"message": str(exc), "type": kind, "code": None}})
        yield "data: [DONE]\n\n"

    def _head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.body.model}

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            **self._head("chat.completion.chunk"),
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }


def _key_check(service: WebService):
    """Checks a request's API key against `web.auth`, when one is set: None, or the 401."""
    credentials = service.settings.web.credentials()

    def check(request: Request) -> APIError | None:
        if credentials is None:
            return None
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        user, password = credentials
        allowed = (password, f"{user}:{password}")
        if scheme.lower() != "bearer" or not any(
            secrets.compare_digest(key.encode(), a.encode()) for a in allowed
        ):
            return APIError(
                401,
                "a valid API key is required: the web.auth password, or user:password",
                "invalid_request_error",
                "invalid_api_key",
            )
        return None

    return check


def _joined_text(content: list[dict[str, Any]] | None) -> str:
    return " ".join(str(p.get("text", "")) for p in content or [] if p.get("type") == "text")


def _invalid(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}"
    return f"the body is not JSON: {exc}"


def _usage(answer: Answer) -> dict[str, Any]:
    """OpenAI's usage object; cached tokens are the prompt's that were not read again."""
    prompt = answer.usage.get("prompt_tokens", 0)
    completion = answer.usage.get("completion_tokens", 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": answer.usage.get("cached_tokens", 0)},
    }


def _event(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"
