"""The web app's parts without a browser: safe uploads, answer HTML, the shared service."""

from __future__ import annotations

import dataclasses
import shutil
import threading
from pathlib import Path

import pytest

from app.answer import Answer, Citation
from app.settings import Settings
from app.web import render
from app.web.server import web_settings
from app.web.service import WebService
from app.web.settings import WebSettings
from app.web.uploads import data_folder, safe_name, store_upload, target_path
from generation.check import SentenceVerdict
from retrieval.passages import Passage
from tests.conftest import FACTS


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\evil.txt", "evil.txt"),
        ("/abs/path/notes.md", "notes.md"),
        (".bashrc", "bashrc"),
        ("..", "upload"),
        ("a<b>|c?.txt", "a_b_c_.txt"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
    ],
)
def test_upload_names_are_plain_file_names(sent: str, kept: str) -> None:
    assert safe_name(sent) == kept


def test_uploads_stay_inside_the_data_folder(tmp_path: Path) -> None:
    folder = data_folder(tmp_path / "idx")
    source = tmp_path / "src.txt"
    source.write_text("hello")
    outside = tmp_path / "outside.txt"
    (folder).mkdir(parents=True)
    (folder / "link.txt").symlink_to(outside)
    for name in ["../../outside.txt", "/tmp/x/../outside.txt", "link.txt"]:
        written = store_upload(source, folder, name)
        assert written.parent == folder.resolve()
        assert not written.is_symlink()
    assert not outside.exists()
    assert target_path(folder, "a/b/c.txt") == folder.resolve() / "c.txt"


def test_web_settings_validate_auth_and_take_command_line_options() -> None:
    with pytest.raises(ValueError, match="user:password"):
        WebSettings(auth="nopassword")
    web = web_settings(Settings(), host="127.0.0.2", port=9999, auth="ann:secret")
    assert (web.host, web.port, web.credentials()) == ("127.0.0.2", 9999, ("ann", "secret"))
    assert web_settings(Settings(), None, None, None).credentials() is None


def _answer(verdicts: list[SentenceVerdict] | None) -> Answer:
    passages = [
        Passage(
            1, "a.txt", "/docs/a.txt", "Alpha", "Alpha is <b>first</b>.", 0, 22, {"dense": 0.9}
        ),
        Passage(2, "b.txt", "/docs/b.txt", "Beta", "Beta is second.", 0, 15, {"fused": 0.03}),
    ]
    text = "Alpha is first [1]. Beta is third [2]. See a[1] in code."
    return Answer(
        question="q",
        text=text,
        passages=passages,
        citations=[Citation(1, passages[0]), Citation(2, passages[1])],
        abstained=False,
        model="m",
        index_version=3,
        timings={"retrieve": 0.01, "generate": 1.0, "total": 1.2},
        verdicts=verdicts,
        grounded=None if verdicts is None else all(v.supported for v in verdicts),
    )


def test_answer_html_links_citations_and_shows_no_verdicts_without_a_checker() -> None:
    html = render.answer_html(_answer(None), "abc")
    assert html.count('href="#mg-cite/abc/1"') == 2  # in the text and in the sources line
    assert 'href="#mg-cite/abc/2"' in html
    assert "a[1] in code" in html  # code brackets stay text
    assert "mg-warning" not in html and "mg-bad" not in html and "mg-ok" not in html
    assert "a.txt" in html and "index v3" in html


def test_unsupported_sentences_are_marked_and_announced_at_the_top() -> None:
    text = _answer(None).text
    verdicts = [
        SentenceVerdict(text[0:19], 0, 19, True, 0.93, 1),
        SentenceVerdict(text[20:38], 20, 38, False, 0.05, 2, unstated=("3",)),
    ]
    html = render.answer_html(_answer(verdicts), "abc")
    assert html.startswith('<div class="mg-warning">⚠ 1 of 2 sentence(s) are not supported')
    assert '<span class="mg-unsupported">Beta is third' in html
    assert "unsupported 0.05" in html and "✓ 0.93" in html
    assert "closest passage [2]; no passage states 3" in html
    unnamed = [verdicts[0], dataclasses.replace(verdicts[1], unstated=(), unnamed=True)]
    html = render.answer_html(_answer(unnamed), "abc")
    assert "closest passage [2]; the sources name few of its words" in html
    ok = render.answer_html(_answer(verdicts[:1]), "abc")
    assert "mg-warning" not in ok and "Every sentence is supported" in ok


def test_an_abstention_names_the_question_words_no_passage_found_mentions() -> None:
    answer = _answer(None)
    answer.text, answer.abstained, answer.citations = "I don't know.", True, []
    answer.missing = ["closed", "<keepers>"]
    html = render.sources_html(answer, "abc")
    assert "No answer in the indexed documents." in html
    assert "never name <b>closed</b>, <b>&lt;keepers&gt;</b>." in html
    answer.missing = []
    assert "never name" not in render.sources_html(answer, "abc")
    answer.withdrawn = "it named Mark, Ellison from the prompt's examples"
    assert "The draft answer was withdrawn: it named Mark, Ellison from the prompt&#x27;s" in (
        render.sources_html(answer, "abc")
    )


def test_details_and_passage_panel_escape_document_text() -> None:
    answer = _answer(None)
    details = render.details_html(answer, "abc")
    assert "<th>rerank</th>" in details and "0.900" in details and "total 1.20 s" in details
    panel = render.passage_html(answer.passages[0], 1, ("before ", answer.passages[0].text, ""))
    assert "&lt;b&gt;first&lt;/b&gt;" in panel and "<b>" not in panel
    assert "<mark>" in panel and "a.txt" in panel


@pytest.fixture()
def service(tmp_path: Path, built_index: Path) -> WebService:
    root = tmp_path / "idx"
    shutil.copytree(built_index, root)
    settings = Settings(index=root, indexing={"progress": False})
    return WebService(settings)


def _file(folder: Path, name: str, content: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    return folder / name


def test_upload_indexes_good_files_and_explains_bad_ones(
    service: WebService, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    good = _file(incoming, "canal.txt", b"The Zephyrine canal lock lifts barges 17 metres.")
    bad = _file(incoming, "broken.pdf", b"%PDF-1.4 not really")
    empty = _file(incoming, "empty.md", b"")
    before = service.counts()["version"]
    results = service.upload([(good, "../../canal.txt"), (bad, "broken.pdf"), (empty, "empty.md")])
    assert [(r.name, r.status) for r in results] == [
        ("canal.txt", "indexed"),
        ("broken.pdf", "skipped"),
        ("empty.md", "skipped"),
    ]
    assert "corrupt PDF" in results[1].detail and "empty" in results[2].detail
    assert sorted(p.name for p in service.data_dir.iterdir()) == ["canal.txt"]  # bad ones gone
    assert service.counts()["version"] == before + 1
    hits = service.qa().retrieve("How far does the Zephyrine canal lock lift barges?", top_n=1)
    assert Path(hits[0].source).name == "canal.txt"  # answerable at once
    again = service.upload([(good, "canal.txt")])
    assert again[0].status == "unchanged"
    uploaded = [f for f in service.files() if f.uploaded]
    assert [f.name for f in uploaded] == ["canal.txt"] and uploaded[0].chunks == 1
    service.remove([uploaded[0].path])
    assert not (service.data_dir / "canal.txt").exists()
    assert "canal.txt" not in {f.name for f in service.files()}


def test_upload_over_the_size_limit_is_refused(tmp_path: Path, built_index: Path) -> None:
    root = tmp_path / "idx"
    shutil.copytree(built_index, root)
    service = WebService(Settings(index=root, web={"max_upload_mb": 0.001}))
    big = _file(tmp_path / "in", "big.txt", b"word " * 1000)
    [result] = service.upload([(big, "big.txt")])
    assert result.status == "skipped" and "upload limit" in result.detail
    assert not (service.data_dir / "big.txt").exists()


def test_passage_context_shows_the_span_inside_its_document(service: WebService) -> None:
    [hit] = service.qa().retrieve(FACTS["notes.txt"][2], top_n=1)
    before, text, after = service.passage_context(hit)
    assert text == hit.text and "4,812" in before + text + after


def test_questions_run_while_the_index_changes(service: WebService, tmp_path: Path) -> None:
    """Retrieval never fails or sees a half-built index while uploads and removals publish."""
    errors: list[BaseException] = []
    stop = threading.Event()
    question = FACTS["guide.md"][2]

    def ask_forever() -> None:
        while not stop.is_set():
            try:
                hits = service.qa().retrieve(question, top_n=3)
                assert Path(hits[0].source).name == "guide.md"
                assert not service.qa().reader.integrity_problems()
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=ask_forever) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for i in range(3):
            f = _file(tmp_path / f"in{i}", f"extra{i}.txt", f"Extra fact number {i}.".encode())
            service.upload([(f, f.name)])
        service.remove([f.path for f in service.files() if f.uploaded])
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    assert service.counts()["version"] >= 5
