"""The web app under attack: login on every route, uploads boxed in, no file leaks, rate and
size limits, and no document or question HTML executed in a real browser.

The server runs in this process over a copy of the test index (`launch` over our own
`WebService`), so a test can index a hostile document the way the upload button does.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from app.web.server import launch
from app.web.service import WebService
from tests.test_web_e2e import ask, browser, free_port  # noqa: F401 - browser is a fixture

pytestmark = pytest.mark.slow

USER, PASSWORD = "ann", "s3cret"
MAX_UPLOAD_MB = 0.05
# Routes Gradio answers without a login: the login page and what it needs to render, and
# metadata with nothing from the index (the test checks that below).
PUBLIC = {
    "/",
    "/login",
    "/login/",
    "/logout",
    "/favicon.ico",
    "/theme.css",
    "/robots.txt",
    "/manifest.json",
    "/openapi.json",
    "/gradio_api/theme.css",
    "/gradio_api/startup-events",
    "/gradio_api/user",
    "/gradio_api/user/",
    "/gradio_api/token",
    "/gradio_api/token/",
    "/gradio_api/app_id",
    "/gradio_api/app_id/",
    "/gradio_api/runs",
    "/gradio_api/runs/",
}
STREAMS = re.compile(r"/heartbeat/")  # an open event stream, with no data in it
XSS = '<img src=x onerror="window.__mg_xss=1"><script>window.__mg_xss=2</script>'


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, built_index: Path) -> Iterator[tuple]:
    """(url, service) of a password-protected server with a small upload limit."""
    root = tmp_path_factory.mktemp("secured") / "idx"
    shutil.copytree(built_index, root)
    web = {
        "auth": f"{USER}:{PASSWORD}",
        "port": free_port(),
        "max_upload_mb": MAX_UPLOAD_MB,
        "requests_per_minute": 1000,
    }
    service = WebService(Settings(index=root, indexing={"progress": False}, web=web))
    demo = launch(service, block=False)
    try:
        yield f"http://127.0.0.1:{web['port']}", service, demo
    finally:
        demo.close()


@pytest.fixture(scope="module")
def signed_in(secured: tuple) -> Iterator[httpx.Client]:
    url = secured[0]
    with httpx.Client(base_url=url, timeout=30) as client:
        assert client.post("/login", data={"username": USER, "password": PASSWORD}).is_success
        yield client


def routes(app: object, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route, through FastAPI's included routers."""
    for route in app.routes:
        if hasattr(route, "path"):
            for method in sorted(getattr(route, "methods", None) or {"GET"}):
                if method not in ("HEAD", "OPTIONS"):
                    yield method, prefix + route.path
        else:
            inner = (
                (route.include_context.prefix or "") if hasattr(route, "include_context") else ""
            )
            yield from routes(route.original_router, prefix + inner)


def test_every_route_that_holds_data_or_work_needs_the_login(secured: tuple) -> None:
    url, service, demo = secured
    checked, leaked = 0, []
    secrets = [str(service.settings.index), "Valmora", "notes.txt"]
    for method, path in routes(demo.app):
        if STREAMS.search(path):
            continue
        concrete = re.sub(r"\{[^}]+\}", "x", path.replace("{path_or_url:path}", "/etc/passwd"))
        response = httpx.request(method, url + concrete, timeout=10)
        checked += 1
        if response.is_success and path not in PUBLIC:
            leaked.append(f"{method} {path}")
        assert not any(s in response.text for s in secrets), f"{method} {path} leaks the index"
    assert not leaked, f"answered without a login: {leaked}"
    assert checked > 60


def test_served_files_never_include_the_index_or_the_system(
    secured: tuple, signed_in: httpx.Client, corpus: Path
) -> None:
    _, service, _ = secured
    version = service.qa().reader.version
    for target in [
        "/etc/passwd",
        str(version.sqlite_path),
        str(version.faiss_path),
        str(corpus / "notes.txt"),
        "../../../../etc/passwd",
        "%2e%2e/%2e%2e/etc/passwd",
    ]:
        for route in ("/gradio_api/file=", "/gradio_api/file/"):
            response = signed_in.get(route + target)
            assert response.status_code in (403, 404), f"{route}{target}: {response.status_code}"
            assert "root:" not in response.text and "SQLite" not in response.text


def test_uploads_cannot_write_outside_the_data_folder(
    secured: tuple, signed_in: httpx.Client, tmp_path: Path
) -> None:
    _, service, _ = secured
    names = [
        "../../escape-a.txt",
        "/tmp/escape-b.txt",
        "nul\x00escape-c.txt",
        "..",
        "a/../../d.txt",
    ]
    sent = []
    for i, name in enumerate(names):
        body = f"Escape test file {i} about the Brindle canal ferry.".encode()
        http_name = name.replace("\x00", "")  # HTTP cannot carry the NUL; the service can
        response = signed_in.post("/gradio_api/upload", files={"files": (http_name, body)})
        if response.status_code == 400:  # Gradio refuses the name itself: the service still must
            assert "Invalid file name" in response.text
            local = tmp_path / f"local-{i}"
            local.write_bytes(body)
            sent.append((local, name))
            continue
        assert response.is_success, response.text
        [cached] = response.json()
        sent.append((Path(cached), name))
    results = service.upload(sent)
    stored = {p.name for p in service.data_dir.iterdir() if not p.name.startswith(".")}
    indexed = {r.name for r in results if r.status == "indexed"}
    assert indexed == {"escape-a.txt", "escape-b.txt", "nul_escape-c.txt", "d.txt"}, results
    assert stored == indexed  # ".." became "upload", no type: skipped and not kept
    assert all(p.parent == service.data_dir for p in service.data_dir.iterdir())
    for folder in (service.data_dir.parent, service.data_dir.parent.parent, Path("/tmp")):
        assert not list(folder.glob("escape-*")) and not (folder / "d.txt").exists()


def test_uploads_over_the_size_limit_are_refused(signed_in: httpx.Client) -> None:
    big = b"x" * int(MAX_UPLOAD_MB * 2**20 * 1.5)
    response = signed_in.post("/gradio_api/upload", files={"files": ("big.txt", big)})
    assert response.status_code == 413, response.status_code


def test_requests_past_the_rate_limit_get_429(built_index: Path) -> None:
    port = free_port()
    web = {"port": port, "requests_per_minute": 3}
    demo = launch(WebService(Settings(index=built_index, web=web)), block=False)
    try:
        url = f"http://127.0.0.1:{port}/gradio_api/call/documents"
        codes = [httpx.post(url, json={"data": []}, timeout=10).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429], codes
        last = httpx.post(url, json={"data": []}, timeout=10)
        assert "requests_per_minute" in last.text and int(last.headers["Retry-After"]) > 0
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200  # pages
    finally:
        demo.close()


def test_no_html_from_documents_or_questions_runs_in_the_page(
    secured: tuple,
    browser,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    url, service, _ = secured
    hostile = tmp_path / "cormorant.md"
    hostile.write_text(
        f"# {XSS} Cormorant census\n\nThe Skellig cormorant colony counted 1,204 nesting pairs "
        f"in 2019. {XSS} <iframe src='javascript:window.__mg_xss=3'></iframe>\n"
    )
    [result] = service.upload([(hostile, "cormorant.md")])
    assert result.status == "indexed", result
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        login = context.request.post(url + "/login", form={"username": USER, "password": PASSWORD})
        assert login.ok
        page.goto(url + "/")
        page.wait_for_selector("#mg-question textarea")
        ask(page, f"How many cormorant pairs nest at Skellig? {XSS}")
        page.locator("#mg-chat .mg-sources a.mg-cite").last.click()
        page.locator("#mg-passage .mg-passage").wait_for(timeout=30_000)
        page.locator("#mg-chat").get_by_text("Retrieved").last.click()
        page.get_by_role("tab", name="Documents").click()
        page.wait_for_timeout(1500)
        assert page.evaluate("() => window.__mg_xss") is None
        assert not dialogs
        assert page.locator("[onerror], iframe[src^='javascript']").count() == 0
        assert "Cormorant census" in page.inner_text("#mg-passage")  # shown, as text
    finally:
        context.close()
