"""N browser sessions ask at the same moment; prints per-session times and errors.

Bounded: one question per session (10 by default, at most 20), a hard deadline, loopback only.

    python bench/web_load.py --index /tmp/idx            # starts `minigiant serve` on a copy
    python bench/web_load.py --url http://127.0.0.1:7860/
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]  # fmt: skip
QUESTIONS = [
    "How many containers does the Port of Valmora unload on a Tuesday?",
    "How much honey does a Carniolan colony in the Zelora valley produce?",
    "Who donated the telescope of the Kestrel Ridge observatory?",
    "How far did the Tarnvik glacier retreat?",
    "What flour does the Quillon Street bakery use for its sourdough starter?",
]
TEXT = """() => { const all = document.querySelectorAll('#mg-chat .message-content');
  const last = all[all.length - 1];
  return !!last && last.innerText.replace('▍','').trim().length > 0; }"""


async def session(browser, url: str, question: str, deadline: float) -> dict[str, object]:
    context = await browser.new_context()
    page = await context.new_page()
    result: dict[str, object] = {"question": question}
    try:
        await page.goto(url)
        await page.wait_for_selector("#mg-question textarea")
        await page.fill("#mg-question textarea", question)
        started = time.perf_counter()
        await page.press("#mg-question textarea", "Enter")
        left = max(1.0, deadline - time.monotonic()) * 1000
        await page.wait_for_function(TEXT, timeout=left)
        result["first_text_s"] = time.perf_counter() - started
        left = max(1.0, deadline - time.monotonic()) * 1000
        await page.wait_for_selector("#mg-chat .mg-sources", timeout=left)
        result["full_answer_s"] = time.perf_counter() - started
        result["own_history"] = await page.locator("#mg-chat [data-testid=user]").count() == 1
        result["answer"] = (await page.locator("#mg-chat .message-content").last.inner_text())[:90]
    except Exception as exc:  # a failed session is a result here, not a crash
        result["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    finally:
        await context.close()
    return result


async def run(url: str, sessions: int, seconds: float) -> list[dict[str, object]]:
    from playwright.async_api import async_playwright

    deadline = time.monotonic() + seconds
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            jobs = [
                session(browser, url, QUESTIONS[i % len(QUESTIONS)], deadline)
                for i in range(sessions)
            ]
            return await asyncio.gather(*jobs)
        finally:
            await browser.close()


def start_server(index: Path) -> tuple[subprocess.Popen, str, Path]:
    folder = Path(tempfile.mkdtemp(prefix="web_load-"))
    shutil.copytree(index, folder / "idx")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MINIGIANT_CONFIG": str(folder / "none.toml")}
    cmd = [
        sys.executable,
        "-m",
        "app",
        "serve",
        "--index",
        str(folder / "idx"),
        "--port",
        str(port),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(480):
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc, url, folder
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url")
    parser.add_argument("--index", type=Path)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=300.0)
    args = parser.parse_args()
    if not (args.url or args.index):
        parser.error("give --url or --index")
    if not args.url.startswith(("http://127.", "http://localhost")) if args.url else False:
        parser.error("loopback only")
    sessions = min(args.sessions, 20)
    proc, url, folder = (None, args.url, None) if args.url else start_server(args.index)
    try:
        began = time.perf_counter()
        results = asyncio.run(run(url, sessions, min(args.seconds, 600.0)))
        wall = time.perf_counter() - began
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
            shutil.rmtree(folder, ignore_errors=True)
    for i, r in enumerate(results):
        if "error" in r:
            print(f"session {i:2d}: ERROR {r['error']}")
        else:
            print(
                f"session {i:2d}: first text {r['first_text_s']:6.1f}s  "
                f"full {r['full_answer_s']:6.1f}s  own history {r['own_history']} "
                f"| {r['answer']!r}"
            )
    done = [r for r in results if "error" not in r]
    if done:
        firsts = sorted(r["first_text_s"] for r in done)
        fulls = sorted(r["full_answer_s"] for r in done)
        print(
            f"{len(done)}/{len(results)} answered in {wall:.1f}s wall; first text "
            f"min {firsts[0]:.1f}s median {firsts[len(firsts) // 2]:.1f}s max {firsts[-1]:.1f}s; "
            f"full answer min {fulls[0]:.1f}s median {fulls[len(fulls) // 2]:.1f}s "
            f"max {fulls[-1]:.1f}s"
        )


if __name__ == "__main__":
    main()
