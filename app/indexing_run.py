"""The index command's work, shared by the CLI and the demo."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.settings import Settings
from indexing.builder import BuildReport, IndexBuilder
from indexing.embedding import Embedder
from indexing.index_dir import IndexDir


def run_index(settings: Settings, paths: Sequence[Path]) -> str:
    """Update the index and return the summary shown to the user."""
    builder = IndexBuilder(
        IndexDir(settings.index), Embedder.from_settings(settings.embedder), settings.indexing
    )
    return summary(builder.run(list(paths)), settings.index)


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
