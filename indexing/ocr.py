"""Text for PDF pages without a text layer (scans): pdfium renders the page, Tesseract reads it.

Tesseract is Debian's `tesseract-ocr` package (the Makefile installs it where apt is at hand);
the page goes to it on stdin as an 8-bit grey PGM, so no imaging library is needed. Measured
here (bench/documents.py): about 1,300 characters/s, 1.8 s for a full A4 page at 300 dpi, at
0.997 character accuracy on prose rendered to an image-only page.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

log = logging.getLogger(__name__)

# Tesseract's OpenMP threads spin against each other and the indexer on few cores: one thread
# read a full A4 page of prose 10x faster here (1.8 s against 17.2 s, 2 cores, same text)
_ONE_THREAD = {**os.environ, "OMP_THREAD_LIMIT": "1"}


class OcrOptions(BaseModel):
    """`[indexing.ocr]`: reading scanned pages."""

    enabled: bool = True
    language: str = "eng"  # Tesseract language pack(s), e.g. "eng+deu"
    dpi: int = Field(300, ge=72, le=600)
    timeout_s: float = Field(120.0, gt=0)


@cache
def _languages() -> frozenset[str]:
    done = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30)
    return frozenset(line.strip() for line in done.stdout.splitlines()[1:] if line.strip())


def unavailable(options: OcrOptions) -> str | None:
    """Why pages cannot be read by OCR here, or None when they can."""
    if not options.enabled:
        return "OCR is off (indexing.ocr.enabled)"
    if shutil.which("tesseract") is None:
        return "OCR needs Tesseract (apt-get install tesseract-ocr)"
    missing = set(options.language.split("+")) - _languages()
    if missing:
        return f"Tesseract has no language pack for {', '.join(sorted(missing))}"
    return None


def read_pages(path: Path, numbers: list[int], options: OcrOptions) -> dict[int, str]:
    """OCR text of the given pages (0-based) of a PDF."""
    import pypdfium2 as pdfium

    texts = {}
    pdf = pdfium.PdfDocument(str(path))
    try:
        for number in numbers:
            bitmap = pdf[number].render(scale=options.dpi / 72, grayscale=True)
            grey = np.ascontiguousarray(bitmap.to_numpy()).reshape(bitmap.height, bitmap.width)
            image = f"P5\n{bitmap.width} {bitmap.height}\n255\n".encode() + grey.tobytes()
            done = subprocess.run(
                ["tesseract", "stdin", "stdout", "-l", options.language],
                input=image,
                capture_output=True,
                timeout=options.timeout_s,
                env=_ONE_THREAD,
            )
            if done.returncode != 0:
                log.warning("OCR of %s page %d failed: %s", path, number + 1, done.stderr[-300:])
                continue
            texts[number] = done.stdout.decode("utf-8", "replace")
    finally:
        pdf.close()
    return texts
