"""Run llama-cpp-python's own OpenAI-compatible server on loopback, for the `openai` engine.

Tests and benchmarks use it to exercise the same HTTP path as vLLM or Ollama would, offline.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

from indexing.errors import MinigiantError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def llama_server(
    model_path: str, alias: str | None = None, context_tokens: int = 4096, timeout_s: float = 120
) -> Iterator[str]:
    """Start the server on a free 127.0.0.1 port; yields its base URL (`.../v1`)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        model_path,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(context_tokens),
    ]
    if alias:
        command += ["--model_alias", alias]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                urllib.request.urlopen(f"{base}/models", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise MinigiantError(
                        f"llama_cpp.server for {model_path} did not start (needs "
                        f"`pip install 'llama-cpp-python[server]'`)"
                    ) from None
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
