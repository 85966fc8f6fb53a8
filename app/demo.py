"""The first-run experience: index the bundled corpus once, then answer a question from it."""

from __future__ import annotations

from pathlib import Path

import typer

from app.indexing_run import run_index
from app.qa import QA
from app.render import sources_text
from app.settings import Settings
from indexing.index_dir import IndexDir

DEMO_CORPUS = Path(__file__).resolve().parent.parent / "corpora" / "python-tutorial"
DEMO_INDEX = Path("indexes") / "demo"


def run_demo(settings: Settings, question: str) -> None:
    settings = settings.model_copy(update={"index": DEMO_INDEX})
    if not IndexDir(DEMO_INDEX).exists():
        typer.echo(f"building the demo index from {DEMO_CORPUS} ...")
        typer.echo(run_index(settings, [DEMO_CORPUS]))
    typer.echo(f"\nQ: {question}\nA: ", nl=False)
    stream = QA(settings, preload_generator=True).ask_stream(question)
    for piece in stream:
        typer.echo(piece, nl=False)
    typer.echo("\n\n" + sources_text(stream.answer, stream.streamed))
    typer.echo(f'\nAsk your own: minigiant ask "..." --index {DEMO_INDEX}')
