"""Shared real components: the packaged embedder, a corpus of every file type, an index."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from indexing.builder import BuildOptions, IndexBuilder
from indexing.embedding import Embedder
from indexing.index_dir import IndexDir

# Tests answer with the packaged 135M generator, where speed matters more than the answer;
# they inherit it through the settings' environment (subprocesses too). Tests of the default
# generator take the `default_generator` fixture, which removes it.
SMALL_GENERATOR = {
    "engine": "llama_cpp",
    "model": "SmolLM2-135M-Instruct-Q4_1.gguf",
    "repeat_penalty": 1.15,  # the 135M model loops on greedy decoding without it
}
for _key, _value in SMALL_GENERATOR.items():
    os.environ.setdefault(f"MINIGIANT_GENERATOR__{_key.upper()}", str(_value))


@pytest.fixture()
def default_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped default generator instead of the tests' small one."""
    for key in SMALL_GENERATOR:
        monkeypatch.delenv(f"MINIGIANT_GENERATOR__{key.upper()}", raising=False)


# One fact per file, each findable only in its own file.
FACTS = {
    "notes.txt": (
        "Harbor logistics notes",
        "The Port of Valmora unloads exactly 4,812 shipping containers on an average Tuesday. "
        "Cranes at the northern quay are painted orange so pilots can see them in fog.",
        "How many containers does the Port of Valmora unload on a Tuesday?",
    ),
    "guide.md": (
        "Beekeeping guide",
        "A healthy Carniolan bee colony in the Zelora valley produces about 31 kilograms of "
        "linden honey each summer. Beekeepers there inspect hives every nine days.",
        "How much honey does a Carniolan colony in the Zelora valley produce?",
    ),
    "page.html": (
        "Observatory history",
        "The Kestrel Ridge observatory opened in 1897 with a 40-centimetre refracting telescope "
        "donated by the astronomer Imre Halvorsen.",
        "Who donated the telescope of the Kestrel Ridge observatory?",
    ),
    "report.pdf": (
        "Glacier survey",
        "The Tarnvik glacier retreated 212 metres between 2001 and 2021, according to the "
        "survey team led by hydrologist Petra Lindqvist.",
        "How far did the Tarnvik glacier retreat?",
    ),
    "memo.docx": (
        "Bakery memo",
        "The Quillon Street bakery switched its sourdough starter to rye flour in March, which "
        "cut the proofing time to six hours.",
        "What flour does the Quillon Street bakery use for its sourdough starter?",
    ),
}
BEIR_DOCS = [
    {
        "_id": "d1",
        "title": "Copper mining",
        "text": "The Oruvel copper mine employs 2,300 miners "
        "and ships ore by rail to the smelter at Dunmere.",
    },
    {
        "_id": "d2",
        "title": "Lighthouse keeping",
        "text": "The Skerrow lighthouse lamp was converted from paraffin to electricity in 1964.",
    },
]
BEIR_QUESTION = ("When was the Skerrow lighthouse converted to electricity?", "#d2")


def write_pdf(path: Path, title: str, text: str) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.setTitle(title)
    y = 800
    words, line = text.split(), ""
    for word in words:
        if len(line) + len(word) > 80:
            pdf.drawString(40, y, line)
            y, line = y - 16, ""
        line = f"{line} {word}".strip()
    pdf.drawString(40, y, line)
    pdf.save()


def write_docx(path: Path, title: str, text: str) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, level=1)
    document.add_paragraph(text)
    document.save(str(path))


def write_corpus(folder: Path) -> Path:
    """A folder with one real file of each supported type."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (title, text, _) in FACTS.items():
        path = folder / name
        if name.endswith(".txt"):
            path.write_text(text)
        elif name.endswith(".md"):
            path.write_text(f"# {title}\n\n{text}\n")
        elif name.endswith(".html"):
            path.write_text(
                f"<html><head><title>{title}</title><style>body{{color:red}}</style>"
                f"<script>var secret = 'scriptword';</script></head>"
                f"<body><nav>Home | About</nav><main><h1>{title}</h1><p>{text}</p></main>"
                "</body></html>"
            )
        elif name.endswith(".pdf"):
            write_pdf(path, title, text)
        elif name.endswith(".docx"):
            write_docx(path, title, text)
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in BEIR_DOCS) + "\n")
    return folder


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder("all-MiniLM-L6-v2", device="cpu")


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory, corpus: Path, embedder: Embedder) -> Path:
    """An index of `corpus`, built once; tests that change an index copy it first."""
    root = tmp_path_factory.mktemp("index") / "idx"
    IndexBuilder(IndexDir(root), embedder, BuildOptions(progress=False)).run([corpus])
    return root


@pytest.fixture()
def private_corpus(tmp_path: Path, corpus: Path) -> tuple[Path, Path]:
    """A corpus copy this test may change, and a path for its own index."""
    folder = tmp_path / "corpus"
    shutil.copytree(corpus, folder)
    return folder, tmp_path / "idx"


@pytest.fixture(scope="session")
def untrained_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real CrossEncoder (packaged MiniLM, fresh scoring head): runs, ranks arbitrarily."""
    import torch
    from sentence_transformers import CrossEncoder

    from indexing.models import resolve_model

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("cross-encoder")
    CrossEncoder(resolve_model("all-MiniLM-L6-v2", "test"), num_labels=1, device="cpu").save(
        str(folder)
    )
    return folder
