"""The index command's work, shared by the CLI and the demo."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from app.settings import Settings
from indexing.builder import BuildReport, IndexBuilder
from indexing.embedding import Embedder
from indexing.index_dir import IndexDir
from indexing.pipeline import FilePipeline


def run_index(settings: Settings, paths: Sequence[Path], ray_address: str | None = None) -> str:
    """Update the index and return the summary shown to the user.

    With `ray_address` ('local', 'auto' or a cluster address) files are loaded, chunked and
    embedded on Ray; the index written is the same either way.
    """
    return summary(_builder(settings, ray_address).run(list(paths)), settings.index)


def watch_index(
    settings: Settings, paths: Sequence[Path], say: Callable[[str], None], quiet_s: float = 1.0
) -> None:
    """Index `paths`, then again after every burst of changes under them, until Ctrl-C."""
    from indexing.watch import watch

    watching = f"watching {', '.join(map(str, paths))} for changes (Ctrl-C to stop)"
    runs = 0

    def report(done: BuildReport) -> None:
        nonlocal runs
        say(summary(done, settings.index))
        runs += 1
        if runs == 1:
            say(watching)

    try:
        watch(_builder(settings, None), paths, report, quiet_s)
    except KeyboardInterrupt:
        say("stopped watching")


def _builder(settings: Settings, ray_address: str | None) -> IndexBuilder:
    embedder = Embedder.from_settings(settings.embedder)
    pipeline = None if ray_address is None else ray_pipeline(settings, embedder, ray_address)
    return IndexBuilder(IndexDir(settings.index), embedder, settings.indexing, pipeline)


def ray_pipeline(settings: Settings, embedder: Embedder, address: str) -> FilePipeline:
    from indexing.ray_pipeline import RayPipeline

    options = settings.indexing
    return RayPipeline(
        settings.embedder,
        embedder.dimension,
        options.chunk_tokens,
        options.overlap_tokens,
        flush_chunks=options.flush_chunks,
        address=address,
        progress=options.progress,
        ocr=options.ocr,
    )


def summary(report: BuildReport, index: Path) -> str:
    lines = []
    if report.changed:
        rate = report.chunks_added / report.embed_seconds if report.embed_seconds else 0.0
        lines.append(
            f"indexed {len(report.indexed)} file(s): +{report.chunks_added} chunks "
            f"({rate:.0f} chunks/s embedding), -{report.chunks_removed} chunks; "
            f"{len(report.removed)} removed, {report.unchanged} unchanged -> "
            f"{index} version {report.version} in {report.seconds:.1f}s"
        )
    else:
        lines.append(f"index {index} is up to date ({report.unchanged} file(s) unchanged)")
    if report.skipped:
        lines.append(f"skipped {len(report.skipped)} file(s):")
        lines.extend(f"  {path}: {reason}" for path, reason in report.skipped)
    return "\n".join(lines)
