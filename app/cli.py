"""The `minigiant` command: index, ask, info, demo."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from app.eval.commands import eval_cli
from app.settings import Settings
from indexing.errors import MinigiantError

cli = typer.Typer(
    help="Retrieval-augmented question answering over your own documents, offline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
cli.add_typer(eval_cli, name="eval")

IndexOption = Annotated[
    Path | None, typer.Option("--index", "-i", help="Index folder (default: settings.index).")
]


def load_settings(index: Path | None = None) -> Settings:
    settings = Settings()
    if index is not None:
        settings = settings.model_copy(update={"index": index})
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("faiss.loader", "sentence_transformers", "transformers", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # model loading bars; our own tqdm bars stay
    return settings


@cli.command()
def index(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to index.")],
    index: IndexOption = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Load, chunk and embed on Ray: 'local' starts a local instance, 'auto' or "
            "ray://HOST:10001 joins a cluster (needs the 'ray' extra).",
        ),
    ] = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Keep running: re-index after every burst of added, changed or deleted files.",
        ),
    ] = False,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            metavar="PATTERN",
            help="Leave out files and folders under the folders given that match PATTERN, as "
            ".gitignore reads it: 'archive', '*.log', 'drafts/*.md'. Repeat for more; files "
            "indexed earlier that match are dropped.",
        ),
    ] = None,
) -> None:
    """Add new and changed files to the index; drop files that no longer exist."""
    from app.indexing_run import run_index, watch_index

    settings = load_settings(index)
    if exclude:
        patterns = [*settings.indexing.exclude, *exclude]
        indexing = settings.indexing.model_copy(update={"exclude": patterns})
        settings = settings.model_copy(update={"indexing": indexing})
    if watch:
        if ray is not None:
            raise MinigiantError("--watch indexes on this machine; leave out --ray")
        watch_index(settings, paths, typer.echo)
        return
    report = run_index(settings, paths, ray_address=ray)
    typer.echo(report)


@cli.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    index: IndexOption = None,
    top_n: Annotated[int | None, typer.Option(help="Passages given to the generator.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole result as JSON.")
    ] = False,
) -> None:
    """Answer a question from the index, streaming the answer, then list its sources."""
    from app.qa import QA
    from app.render import answer_json, sources_text

    qa = QA(load_settings(index), preload_generator=True)
    stream = qa.ask_stream(question, top_n=top_n)
    for piece in stream:
        if not as_json:
            typer.echo(piece, nl=False)
    answer = stream.answer
    if as_json:
        typer.echo(json.dumps(answer_json(answer), indent=2))
    else:
        typer.echo("\n\n" + sources_text(answer, stream.streamed))


@cli.command()
def chat(index: IndexOption = None) -> None:
    """A conversation in the terminal: follow-up questions, streamed answers, sources."""
    from app.chat_repl import run_chat
    from app.qa import QA

    with contextlib.suppress(ImportError):
        import readline  # noqa: F401 - line editing and ↑ history for input(), where available

    qa = QA(load_settings(index), preload_generator=True)
    qa.warm_up()
    run_chat(qa, input, lambda text: typer.echo(text, nl=False))


@cli.command()
def info(index: IndexOption = None) -> None:
    """What an index holds and how it was built, and how the models run on this machine."""
    from app.render import index_info, kernels_info

    settings = load_settings(index)
    typer.echo(index_info(settings.index))
    typer.echo(kernels_info(settings))


@cli.command()
def demo(
    question: Annotated[str, typer.Argument()] = "How do I create a virtual environment?",
) -> None:
    """Build the bundled demo index if missing, then answer a sample question from it."""
    from app.demo import run_demo

    run_demo(load_settings(), question)


@cli.command()
def train(
    model: Annotated[
        str,
        typer.Argument(
            help="checker, checker-nli, reranker, reranker-student, checker-cross-encoder, "
            "injection-detector, answerability, or pubmedqa-statements (data for checker-nli)"
        ),
    ],
    out: Annotated[Path, typer.Option(help="Folder for the weights and model card.")],
    steps: Annotated[int, typer.Option(help="Optimiser steps (batches of --batch-size).")] = 300,
    batch_size: Annotated[int, typer.Option()] = 16,
    seed: Annotated[int, typer.Option()] = 13,
    bipia: Annotated[
        Path | None,
        typer.Option(help="injection-detector: a microsoft/BIPIA clone's benchmark/ folder."),
    ] = None,
    nli: Annotated[
        list[Path] | None,
        typer.Option(help="checker-nli: jsonl of premise, hypothesis, label (repeatable)."),
    ] = None,
    init: Annotated[
        str | None,
        typer.Option(
            help="checker-nli: start from this cross-encoder (default: our reranker with a "
            "new head); a three-way checker such as minigiant-checker is trained further."
        ),
    ] = None,
) -> None:
    """Train our own small checking models (the packaged MiniLM weights, or from scratch)."""
    from app.train.distill import distil_reranker
    from app.train.feature_checker import train_feature_checker
    from app.train.recipes import train_checker, train_reranker
    from app.train.trainer import TrainConfig

    recipes = {
        "checker": train_feature_checker,
        "reranker": train_reranker,
        "reranker-student": distil_reranker,
        "checker-cross-encoder": train_checker,
    }
    if model == "injection-detector":
        from app.train.injection_detector import train_injection_detector

        if bipia is None or not (bipia / "text_attack_train.json").exists():
            raise MinigiantError(
                "train injection-detector needs --bipia: the benchmark/ folder of a "
                "github.com/microsoft/BIPIA clone (text_attack_train.json and others)"
            )
        recipes[model] = lambda out, config: train_injection_detector(out, config, bipia)
    if model == "checker-nli":
        from app.train.nli_checker import INIT, train_nli_checker

        window = load_settings().checker.window_words
        recipes[model] = lambda out, config: train_nli_checker(
            out, config, nli or [], window, init=init or INIT
        )
    if model == "pubmedqa-statements":
        from app.train.pubmed_statements import write_statements

        settings = load_settings()
        path = write_statements(out, settings.generator, settings.checker.window_words)
        typer.echo(f"wrote {path}: give it to `train checker-nli --nli`")
        return
    if model == "answerability":
        from app.train.answerability import train_answerability

        recipes[model] = lambda out, config: train_answerability(out, config, load_settings())
    if model not in recipes:
        raise MinigiantError(f"train takes one of {', '.join(recipes)}, not {model!r}")
    load_settings()
    run = recipes[model](out, TrainConfig(steps=steps, batch_size=batch_size, seed=seed))
    typer.echo(f"saved {out} in {run.wall_seconds / 60:.1f} min; scores: {run.dev}")


@cli.command()
def serve(
    index: IndexOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on (web.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (web.port).")] = None,
    auth: Annotated[
        str | None, typer.Option(help="Require a login, as user:password (web.auth).")
    ] = None,
) -> None:
    """Start the web chat (ask with cited sources, upload documents, change settings) and the
    OpenAI-compatible API at /v1 on the same port."""
    from app.web.server import serve as serve_web

    settings = load_settings(index)
    serve_web(settings, host=host, port=port, auth=auth)


def main() -> None:
    try:
        cli()
    except MinigiantError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except ValidationError as exc:
        typer.echo(f"error: invalid settings:\n{exc}", err=True)
        sys.exit(2)
