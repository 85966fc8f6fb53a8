"""Settings of the web chat: where it listens, who may use it, how much it accepts at once."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from generation.engines import GeneratorSettings


class WebSettings(BaseModel):
    """`[web]` in minigiant.toml, or MINIGIANT_WEB__* in the environment.

    Generation on a local CPU model runs one answer at a time anyway, so `chat_concurrency`
    mostly decides how many questions retrieve while another is generating; the rest wait in
    Gradio's queue and see their place in it.
    """

    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    auth: str | None = None  # "user:password"; None: no login
    max_upload_mb: float = Field(50.0, gt=0)
    chat_concurrency: int = Field(2, ge=1)
    queue_size: int = Field(64, ge=1)
    # questions, API calls, uploads and logins per client and minute; more get HTTP 429
    requests_per_minute: int = Field(240, ge=1)
    # generators a user may pick in the page besides `generator`, e.g. an OpenAI-compatible one
    generators: list[GeneratorSettings] = Field(default_factory=list)

    @field_validator("auth")
    @classmethod
    def _user_and_password(cls, value: str | None) -> str | None:
        if value is not None:
            user, sep, password = value.partition(":")
            if not (user and sep and password):
                raise ValueError("web.auth must look like user:password")
        return value

    def credentials(self) -> tuple[str, str] | None:
        if self.auth is None:
            return None
        user, _, password = self.auth.partition(":")
        return user, password
