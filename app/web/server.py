"""Start the web chat: settings in, a running Gradio server out."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from app.settings import Settings
from app.web.settings import WebSettings

if TYPE_CHECKING:
    from app.web.service import WebService

log = logging.getLogger(__name__)


def web_settings(
    settings: Settings, host: str | None, port: int | None, auth: str | None
) -> WebSettings:
    """Command-line options over `settings.web`, validated the same way."""
    given = {"host": host, "port": port, "auth": auth}
    return WebSettings.model_validate(
        {**settings.web.model_dump(), **{k: v for k, v in given.items() if v is not None}}
    )


def serve(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    auth: str | None = None,
    block: bool = True,
):
    """Load the models, build the page and listen; returns the Blocks when `block` is False."""
    from app.web.service import WebService

    web = web_settings(settings, host, port, auth)
    service = WebService(settings.model_copy(update={"web": web}))
    service.warm_up()
    return launch(service, block)


def launch(service: WebService, block: bool = True):
    """Build the page over `service` and listen on its settings' host and port."""
    # Gradio reports usage and checks for updates unless told not to; we stay on this machine
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from starlette.middleware import Middleware

    from app.web import assets
    from app.web.limits import RateLimit
    from app.web.openai_api import openai_router
    from app.web.ui import build_ui

    web = service.settings.web
    demo = build_ui(service)
    demo.queue(default_concurrency_limit=4, max_size=web.queue_size)
    # listen first, then add the OpenAI routes to the running app (Gradio builds it in launch)
    demo.launch(
        server_name=web.host,
        server_port=web.port,
        auth=web.credentials(),
        auth_message="minigiant: sign in to ask questions of this index.",
        max_file_size=int(web.max_upload_mb * 1024 * 1024),
        prevent_thread_lock=True,
        show_error=True,
        share=False,
        inbrowser=False,
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
        quiet=not block,
        footer_links=["api", "settings"],
        theme=assets.theme(),
        css=assets.CSS,
        head=assets.HEAD,
        app_kwargs={"middleware": [Middleware(RateLimit, per_minute=web.requests_per_minute)]},
    )
    demo.app.include_router(openai_router(service))
    if block:
        demo.block_thread()
    return demo
