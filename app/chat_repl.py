"""`minigiant chat`: a conversation in the terminal, each answer streamed, then its sources."""

from __future__ import annotations

from collections.abc import Callable

from app.qa import QA
from app.render import sources_text
from generation.condense import continued
from indexing.errors import MinigiantError

HELP = "Ask about your documents. /new starts a new conversation, /quit (or Ctrl-D) leaves."


def run_chat(qa: QA, read: Callable[[str], str], write: Callable[[str], None]) -> None:
    """The loop, with input and output passed in so a pipe works as well as a terminal."""
    write(HELP + "\n")
    turns: list[dict[str, str]] = []
    while True:
        try:
            question = read("\nyou> ").strip()
        except (EOFError, KeyboardInterrupt):
            write("\n")
            return
        if question in ("/quit", "/exit"):
            return
        if question == "/new":
            turns = []
            write("(new conversation)\n")
            continue
        if not question:
            continue
        try:
            stream = qa.ask_stream(question, history=turns)
            if stream.standalone:
                write(f"(searched for: {stream.standalone})\n")
            write("minigiant> ")
            for piece in stream:
                write(piece)
        except MinigiantError as exc:
            write(f"error: {exc}\n")
            continue
        answer = stream.answer
        write("\n\n" + sources_text(answer, stream.streamed) + "\n")
        turns = continued(turns, question, answer.text, qa.settings.conversation)
