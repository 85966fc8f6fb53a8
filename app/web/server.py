"""Start the web chat: settings in, a running Gradio server out."""

from __future__ import annotations

import logging
import os

from app.settings import Settings
from app.web.settings import WebSettings

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
    # Gradio reports usage and checks for updates unless told not to; we stay on this machine
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from app.web import assets
    from app.web.service import WebService
    from app.web.ui import build_ui

    web = web_settings(settings, host, port, auth)
    settings = settings.model_copy(update={"web": web})
    service = WebService(settings)
    service.warm_up()
    demo = build_ui(service)
    demo.queue(default_concurrency_limit=4, max_size=web.queue_size)
    demo.launch(
        server_name=web.host,
        server_port=web.port,
        auth=web.credentials(),
        auth_message="minigiant: sign in to ask questions of this index.",
        max_file_size=int(web.max_upload_mb * 1024 * 1024),
        prevent_thread_lock=not block,
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
    )
    return demo
