"""The `minigiant` command as a user runs it: real processes, real output."""

import os
import subprocess
import sys
from pathlib import Path

from indexing.kernels import cpu_flags, math_threads
from tests.conftest import FACTS


def run(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        input=stdin,
    )


def test_index_ask_info(private_corpus: tuple[Path, Path]) -> None:
    folder, root = private_corpus
    (folder / "junk.pdf").write_bytes(b"%PDF-1.3 not really")
    (folder / "_build").mkdir()
    (folder / "_build" / "notes.txt").write_text(FACTS["notes.txt"][1])
    indexed = run("index", str(folder), "--index", str(root), "--exclude", "_build")
    assert indexed.returncode == 0, indexed.stderr
    assert "indexed 6 file(s)" in indexed.stdout
    assert "skipped 1 file(s)" in indexed.stdout and "junk.pdf" in indexed.stdout

    again = run("index", str(folder), "--index", str(root), "--exclude", "_build")
    assert "up to date" in again.stdout

    asked = run("ask", FACTS["guide.md"][2], "--index", str(root))
    assert asked.returncode == 0, asked.stderr
    answer, _, sources = asked.stdout.partition("Sources:")
    assert answer.strip()
    assert "guide.md" in sources or "no sources" in asked.stdout
    assert "Checked (" in asked.stdout and (
        "supported" in asked.stdout or "UNSUPPORTED" in asked.stdout
    )

    info = run("info", "--index", str(root))
    assert info.returncode == 0, info.stderr
    assert "chunks:" in info.stdout and "flat FAISS index" in info.stdout
    assert "all-MiniLM-L6-v2" in info.stdout
    assert "generator: SmolLM2-135M-Instruct-Q4_1.gguf via llama_cpp" in info.stdout
    built = info.stdout.split("llama.cpp built for ", 1)[1].splitlines()[0].rstrip(")")
    assert "AVX2" in built.split(", ") or "avx2" not in cpu_flags()
    assert "embedder:  all-MiniLM-L6-v2 (" in info.stdout
    # the index's own embedder line first, then how the model runs here
    embedder_line = info.stdout.rsplit("embedder:  all-MiniLM-L6-v2 (", 1)[1].splitlines()[0]
    # OpenVINO takes every core for each request of its own
    side_by_side = math_threads() > 1 and not embedder_line.startswith("openvino")
    assert ("batches side by side" in embedder_line) == side_by_side
    assert "reranker:  minigiant-reranker (" in info.stdout
    assert "guard:     minigiant-injection (n-grams, what they flag confirmed with" in info.stdout
    # the shipped gate was fitted for the default generator, not the tests' small one
    assert "gate:      minigiant-answerability (fitted for qwen2.5" in info.stdout
    assert "off for these models" in info.stdout


def test_chat_keeps_the_conversation(built_index: Path) -> None:
    question = FACTS["notes.txt"][2]
    said = f"{question}\n\nAnd what colour are the cranes there?\n/new\nWhy?\n"
    env = {**os.environ, "MINIGIANT_CONVERSATION__REWRITE": "concat"}
    chat = run("chat", "--index", str(built_index), env=env, stdin=said)
    assert chat.returncode == 0, chat.stderr
    turns = chat.stdout.split("minigiant> ")
    # each reply ends with what it rests on: its sources, none cited (the small model may
    # answer "Why?" without a source), or the abstention
    ends = ("Sources:", "(no sources cited)", "(no answer in the index")
    assert len(turns) == 4 and all(any(end in t for end in ends) for t in turns[1:])
    assert f"(searched for: {question} And what colour are the cranes there?)" in turns[1]
    assert "(new conversation)" in turns[2] and "searched for" not in turns[3]


def test_errors_are_one_line_not_tracebacks(tmp_path: Path) -> None:
    missing = run("ask", "anything?", "--index", str(tmp_path / "none"))
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: no index at")
    assert "Traceback" not in missing.stderr

    nowhere = run("index", str(tmp_path / "nowhere"), "--index", str(tmp_path / "idx"))
    assert nowhere.returncode == 2 and "nowhere" in nowhere.stderr
    assert "Traceback" not in nowhere.stderr


def test_bad_embedder_setting_is_named(tmp_path: Path) -> None:
    import os

    (tmp_path / "a.txt").write_text("some text to index")
    env = {**os.environ, "MINIGIANT_EMBEDDER__MODEL": str(tmp_path / "no-model")}
    result = run("index", str(tmp_path), "--index", str(tmp_path / "idx"), env=env)
    assert result.returncode == 2
    assert "embedder.model" in result.stderr and "Traceback" not in result.stderr
