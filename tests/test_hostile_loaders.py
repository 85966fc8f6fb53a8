"""Hostile files: every one is indexed or skipped with a reason; a run never aborts or balloons.

Random and damaged bytes go through `load_file` under hypothesis; a whole indexing run then
meets the named nasties (zip bomb, 50 MB line, link loop, FIFO, locked file...) in a child
process, so its peak memory can be measured and file permissions apply even to root.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexing.chunking import Chunker
from indexing.documents import Document
from indexing.embedding import Embedder
from indexing.errors import SkipFile
from indexing.extract import MAX_TEXT_FILE_BYTES
from indexing.loaders import LOADERS, load_file
from tests.conftest import write_docx, write_pdf

log = logging.getLogger(__name__)

SUFFIXES = sorted(LOADERS)
ENCODINGS = ["utf-8", "cp1252", "latin-1", "utf-16", "shift_jis", "koi8-r", "gb18030"]
FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
tried = {"inputs": 0}  # reported in the log; the run's count of hostile inputs


def outcome(path: Path) -> str:
    """'indexed' or 'skipped: reason'; anything else (an exception, empty text) fails the test."""
    tried["inputs"] += 1
    try:
        documents = load_file(path)
    except SkipFile as exc:
        assert str(exc).strip(), f"{path.name}: skipped without a reason"
        return f"skipped: {exc}"
    assert documents and all(isinstance(d, Document) and d.text.strip() for d in documents)
    return "indexed"


@pytest.fixture(scope="module")
def real_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The bytes of a genuine PDF and .docx, to truncate and corrupt."""
    folder = tmp_path_factory.mktemp("real")
    write_pdf(folder / "r.pdf", "Survey", "The glacier retreated 212 metres in twenty years. " * 20)
    write_docx(folder / "r.docx", "Memo", "The bakery switched to rye flour in March. " * 20)
    return {s: (folder / f"r{s}").read_bytes() for s in (".pdf", ".docx")}


@FUZZ
@given(content=st.binary(max_size=4096), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes_under_every_suffix(tmp_path: Path, content: bytes, suffix: str) -> None:
    path = tmp_path / f"random{suffix}"
    path.write_bytes(content)
    outcome(path)


@FUZZ
@given(
    suffix=st.sampled_from([".pdf", ".docx"]),
    keep=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(1, 255)), max_size=8),
)
def test_truncated_and_corrupted_pdf_and_docx(
    tmp_path: Path,
    real_files: dict[str, bytes],
    suffix: str,
    keep: float,
    flips: list[tuple[float, int]],
) -> None:
    data = bytearray(real_files[suffix][: int(len(real_files[suffix]) * keep)])
    for where, mask in flips:
        if data:
            data[int(where * (len(data) - 1))] ^= mask
    path = tmp_path / f"damaged{suffix}"
    path.write_bytes(bytes(data))
    outcome(path)


@FUZZ
@given(
    pieces=st.lists(
        st.tuples(st.text(max_size=200), st.sampled_from(ENCODINGS)), min_size=1, max_size=6
    ),
    suffix=st.sampled_from([".txt", ".md", ".html"]),
)
def test_mixed_encodings_load_or_skip(
    tmp_path: Path, pieces: list[tuple[str, str]], suffix: str
) -> None:
    data = b"".join(text.encode(codec, errors="replace") for text, codec in pieces)
    path = tmp_path / f"mixed{suffix}"
    path.write_bytes(data)
    result = outcome(path)
    plain = "".join(text for text, _ in pieces)
    if suffix == ".txt" and all(c == "utf-8" for _, c in pieces) and "\x00" not in plain:
        if plain.strip():
            [document] = load_file(path)
            assert " ".join(document.text.split()) == " ".join(plain.split())
        else:
            assert result.startswith("skipped")


def test_chunking_a_long_one_line_text_keeps_memory_small(embedder: Embedder) -> None:
    """1 MB without a line break: Python-side memory stays tens of MB (was ~200 MB)."""
    text = "lorem ipsum dolor sit amet, consectetur adipiscing. " * 20_000
    chunker = Chunker(embedder.tokenizer)
    tracemalloc.start()
    try:
        chunks = chunker.split(Document("u", "s", "t", text))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20, f"peak {peak / 2**20:.0f} MB"
    assert all(text[c.start : c.end] == c.text for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].end == len(text.rstrip())


def test_segmented_chunking_matches_whole_document_chunking(embedder: Embedder) -> None:
    text = "\n\n".join(
        f"Paragraph {i}. " + "Words of the day, said plainly. " * 9 for i in range(60)
    )
    document = Document("u", "s", "t", text)
    whole = Chunker(embedder.tokenizer, segment_chars=10**9).split(document)
    segmented = Chunker(embedder.tokenizer, segment_chars=700).split(document)
    assert [(c.start, c.end) for c in segmented] == [(c.start, c.end) for c in whole]


# --- one whole indexing run over the named nasties -------------------------------------------

RUN_BUILDER = """
import json, sys
from pathlib import Path
from indexing.builder import BuildOptions, IndexBuilder
from indexing.embedding import Embedder
from indexing.index_dir import IndexDir
builder = IndexBuilder(IndexDir(Path(sys.argv[2])), Embedder("all-MiniLM-L6-v2", device="cpu"),
                       BuildOptions(progress=False))
report = builder.run([Path(sys.argv[1])])
# VmHWM is this image's own peak; ru_maxrss would also carry the forking parent's RSS over exec
status = Path("/proc/self/status").read_text()
peak = int(next(l.split()[1] for l in status.splitlines() if l.startswith("VmHWM:"))) * 1024
print(json.dumps({"indexed": report.indexed, "skipped": report.skipped, "peak": peak}))
"""
PEAK_LIMIT = 1536 * 2**20  # the embedder and torch take ~700 MB; a 300 MB zip bomb would show


def zip_bomb(path: Path, megabytes: int) -> None:
    """A .docx-looking zip whose document.xml inflates to `megabytes` of zeros."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            for _ in range(megabytes):
                member.write(bytes(2**20))


def encrypted_pdf(source: bytes, path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(source)).pages:
        writer.add_page(page)
    writer.encrypt(user_password="s3cret", owner_password="0wner")
    with path.open("wb") as handle:
        writer.write(handle)


def nasty_folder(folder: Path, real: dict[str, bytes]) -> dict[str, str]:
    """Write the hostile files; returns name -> what must become of it."""
    folder.mkdir()
    expect: dict[str, str] = {}

    def put(name: str, data: bytes | str, want: str) -> None:
        target = folder / name
        target.write_bytes(data.encode() if isinstance(data, str) else data)
        expect[name] = want

    put("good.txt", "The Ostmark ferry crosses the fjord in eleven minutes.", "indexed")
    put("latin1.txt", "Crème brûlée à la française, déjà vu. ".encode("cp1252") * 20, "indexed")
    put("mixed.md", "# Mixed\n\nnaïve café ".encode() + "señor año".encode("cp1252"), "indexed")
    put("empty.txt", b"", "skipped")
    put("empty.pdf", b"", "skipped")
    put("empty.docx", b"", "skipped")
    put("blank.md", b"\n \t\n\n", "skipped")
    put("binary.md", os.urandom(4096) + b"\x00", "skipped")
    put("truncated.pdf", real[".pdf"][: len(real[".pdf"]) // 2], "skipped")
    put("truncated.docx", real[".docx"][: len(real[".docx"]) // 2], "skipped")
    encrypted_pdf(real[".pdf"], folder / "encrypted.pdf")
    expect["encrypted.pdf"] = "skipped"
    zip_bomb(folder / "bomb.docx", 300)
    expect["bomb.docx"] = "skipped"
    for suffix in (".pptx", ".xlsx", ".epub"):
        zip_bomb(folder / f"bomb{suffix}", 300)
        expect[f"bomb{suffix}"] = "skipped"
        put(f"truncated{suffix}", real[".docx"][: len(real[".docx"]) // 2], "skipped")
        put(f"empty{suffix}", b"", "skipped")
    # a password-protected Office file is an OLE compound file, not a zip
    put("encrypted.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(4096), "skipped")
    put("notabook.epub", real[".docx"], "skipped")  # a zip, but no EPUB container inside
    put("binary.csv", os.urandom(4096) + b"\x00", "skipped")
    put("binary.eml", os.urandom(4096) + b"\x00", "skipped")
    put("garbage.mbox", b"no From_ line, so no message at all\n", "skipped")
    with (folder / "huge.csv").open("wb") as handle:  # 20 MB of rows
        handle.write(b"a,b,c\n" + b"1,2,3\n" * (20 * 2**20 // 6))
    expect["huge.csv"] = "skipped"
    with (folder / "oneline.txt").open("wb") as handle:  # 50 MB, not one line break
        handle.write(b"word " * (10 * 2**20))
    expect["oneline.txt"] = "skipped"
    put("bad.jsonl", b'{"_id": "a", "text": "ok"}\n{"_id": \n', "skipped")
    (folder / "loop.txt").symlink_to(folder / "loop.txt")
    expect["loop.txt"] = "skipped"
    (folder / "dangling.md").symlink_to(folder / "nowhere.md")
    expect["nowhere.md"] = "skipped"  # a link is reported under the path it points to
    put("locked.txt", "a secret nobody may read", "skipped")
    (folder / "locked.txt").chmod(0)
    os.mkfifo(folder / "pipe.txt")  # reading it would block forever
    expect["pipe.txt"] = "left out"
    (folder / "zero.txt").symlink_to("/dev/zero")  # endless bytes
    expect["zero.txt"] = "left out"
    (folder / "sub").mkdir()
    (folder / "sub" / "cycle").symlink_to(folder, target_is_directory=True)
    return expect


def without_file_permission_override() -> list[str]:
    """Root reads mode-000 files; dropping CAP_DAC_* from the child makes permissions apply."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be tested")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.slow
def test_indexing_run_survives_every_nasty_file(
    tmp_path: Path, real_files: dict[str, bytes]
) -> None:
    folder = tmp_path / "nasty"
    expect = nasty_folder(folder, real_files)
    done = subprocess.run(
        [
            *without_file_permission_override(),
            sys.executable,
            "-c",
            RUN_BUILDER,
            str(folder),
            str(tmp_path / "idx"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    indexed = {Path(p).name for p in result["indexed"]}
    skipped = {Path(p).name: reason for p, reason in result["skipped"]}
    tried["inputs"] += len(expect)
    for name, want in expect.items():
        if want == "indexed":
            assert name in indexed, f"{name}: {skipped.get(name)}"
        elif want == "skipped":
            assert skipped.get(name, "").strip(), f"{name} was not skipped with a reason"
        else:
            assert name not in indexed and name not in skipped
    for suffix in (".docx", ".pptx", ".xlsx", ".epub"):
        assert "zip bomb" in skipped[f"bomb{suffix}"], skipped[f"bomb{suffix}"]
    assert "encrypted" in skipped["encrypted.xlsx"]
    assert "too large" in skipped["huge.csv"]
    assert "too large" in skipped["oneline.txt"]
    assert "encrypted" in skipped["encrypted.pdf"]
    assert "ermission denied" in skipped["locked.txt"]
    assert "symbolic links" in skipped["loop.txt"]
    log.warning("nasty run peak memory %.0f MB", result["peak"] / 2**20)
    assert result["peak"] < PEAK_LIMIT, f"peak memory {result['peak'] / 2**20:.0f} MB"
    log.warning(
        "hostile loader inputs tried: %d; run peak memory %.0f MB",
        tried["inputs"],
        result["peak"] / 2**20,
    )


def test_text_limit_is_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "sparse.html"
    with path.open("wb") as handle:  # a sparse 4 GB file: reading it would exhaust memory
        handle.truncate(4 * 2**30)
    with pytest.raises(SkipFile, match="too large"):
        load_file(path)
    assert MAX_TEXT_FILE_BYTES < 4 * 2**30
