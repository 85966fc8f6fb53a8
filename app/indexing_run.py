"""The index command's work, shared by the CLI and the demo."""

from __future__ import annotations

from collections.abc import Sequence
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
    embedder = Embedder.from_settings(settings.embedder)
    pipeline = None if ray_address is None else ray_pipeline(settings, embedder, ray_address)
    builder = IndexBuilder(IndexDir(settings.index), embedder, settings.indexing, pipeline)
    return summary(builder.run(list(paths)), settings.index)


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
