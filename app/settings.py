"""The one typed settings object: defaults < minigiant.toml < MINIGIANT_* environment < arguments.

Nested fields use a double underscore in the environment, e.g.
`MINIGIANT_GENERATOR__ENGINE=openai MINIGIANT_RETRIEVAL__TOP_N=8`.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from app.web.settings import WebSettings
from generation.check import CheckerSettings
from generation.condense import ConversationSettings
from generation.engines import GeneratorSettings
from generation.prune import ContextSettings
from indexing.builder import BuildOptions
from indexing.embedding import EmbedderSettings
from retrieval.hybrid import RetrievalOptions

CONFIG_ENV = "MINIGIANT_CONFIG"
DEFAULT_CONFIG = Path("minigiant.toml")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MINIGIANT_",
        env_nested_delimiter="__",
        env_parse_none_str="",  # an empty variable means none: "auto", or off
        extra="forbid",
        validate_default=True,
    )

    index: Path = Path("minigiant-index")
    embedder: EmbedderSettings = EmbedderSettings()
    indexing: BuildOptions = BuildOptions()
    retrieval: RetrievalOptions = RetrievalOptions()
    context: ContextSettings = ContextSettings()
    conversation: ConversationSettings = ConversationSettings()
    generator: GeneratorSettings = GeneratorSettings()
    # small-first cascade: when set, `generator` answers first and this one takes over when
    # the small one abstains or the checker rejects a sentence
    large_generator: GeneratorSettings | None = None
    checker: CheckerSettings = CheckerSettings()
    web: WebSettings = WebSettings()
    max_question_chars: int = Field(4000, ge=1)
    log_level: str = "WARNING"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config = Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config.exists():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config))
        return tuple(sources)
