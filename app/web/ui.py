"""The page: chat in the middle, settings on the left, the cited passage on the right.

Built from Gradio's own parts: `Chatbot` messages (a collapsible "thought" message carries
each answer's retrieval details), `Sidebar` panels, a `File` drop zone with `Progress`
following the indexer's tqdm bars, and `gr.api` endpoints for `gradio_client`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr

from app.render import answer_json
from app.web import render
from app.web.service import FileResult, WebService
from generation.condense import continued
from indexing.errors import MinigiantError

KEEP_ANSWERS = 50  # per session, for citation clicks on recent answers
STATUS_LABEL = {"indexed": "✓ indexed", "unchanged": "= unchanged", "skipped": "✗ skipped"}


def build_ui(service: WebService) -> gr.Blocks:
    settings = service.settings
    web = settings.web
    with gr.Blocks(
        title="minigiant", analytics_enabled=False, fill_height=True, fill_width=True
    ) as demo:
        answers = gr.State({})  # answer id -> Answer, for this browser session only
        turns = gr.State([])  # the conversation as plain text, for follow-up questions
        with gr.Sidebar(position="left", label="Settings", open=True, width=300):
            gr.Markdown("### Answer settings")
            top_n = gr.Slider(1, 20, value=settings.retrieval.top_n, step=1, label="Passages")
            rerank = gr.Checkbox(
                value=service.has_reranker,
                label="Rerank with the cross-encoder",
                interactive=service.has_reranker,
                info=None
                if service.has_reranker
                else "No reranker configured (retrieval.reranker).",
            )
            model = gr.Dropdown(
                choices=list(service.generators), value=service.default_model, label="Model"
            )
            temperature = gr.Slider(
                0.0, 2.0, value=settings.generator.temperature, step=0.1, label="Temperature"
            )
            new_chat = gr.Button("New chat", variant="secondary", size="sm")
        with gr.Sidebar(position="right", label="Passage", open=False, width=420) as panel:
            passage = gr.HTML(render.EMPTY_PANEL, elem_id="mg-passage")
        header = gr.HTML(_header(service), elem_id="mg-header")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chatbot = gr.Chatbot(
                    elem_id="mg-chat",
                    show_label=False,
                    height="68vh",
                    placeholder="**Ask anything about your documents.**<br>Answers cite their "
                    "sources as [1], [2]…; click one to read the passage it comes from.",
                    buttons=["copy"],
                    feedback_options=None,
                )
                question = gr.Textbox(
                    elem_id="mg-question",
                    show_label=False,
                    placeholder="Ask a question about your documents…",
                    submit_btn="Ask",
                    stop_btn="Stop",
                    lines=1,
                    max_lines=6,
                    autofocus=True,
                )
            with gr.Tab("Documents", id="documents"):
                files = gr.File(
                    file_count="multiple",
                    label="Drop files here to add them to the index (.txt .md .rst .html "
                    ".pdf .docx .pptx .xlsx .csv .epub .eml .mbox .jsonl; up to "
                    f"{web.max_upload_mb:g} MB each)",
                    elem_id="mg-upload",
                    height=150,
                )
                results = gr.Dataframe(
                    headers=["File", "Result", "Detail"],
                    label="Last upload",
                    interactive=False,
                    wrap=True,
                    elem_id="mg-upload-results",
                    visible=False,
                )
                documents = gr.Dataframe(
                    value=_document_rows(service),
                    headers=["File", "Chunks", "Size", "Location"],
                    label="Indexed documents",
                    interactive=False,
                    wrap=True,
                    elem_id="mg-documents",
                )
                with gr.Row(equal_height=True):
                    to_remove = gr.Dropdown(
                        choices=_document_choices(service),
                        multiselect=True,
                        label="Remove from the index",
                        scale=4,
                        elem_id="mg-remove-choice",
                    )
                    remove = gr.Button("Remove", variant="stop", scale=1, elem_id="mg-remove")
        cite_target = gr.Textbox(elem_id="mg-cite-target", show_label=False, container=False)
        cite_open = gr.Button("open passage", elem_id="mg-cite-open")

        def chat(
            message: str,
            history: list[dict[str, Any]],
            answers: dict[str, Any],
            turns: list[dict[str, str]],
            top_n: float,
            rerank: bool,
            model: str,
            temperature: float,
        ) -> Iterator[tuple[Any, ...]]:
            text = (message or "").strip()
            if not text:
                yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
                return
            answer_id = uuid.uuid4().hex[:12]
            details = _thought("Searching the documents…", "", "pending")
            reply = {"role": "assistant", "content": '<span class="mg-typing">▍</span>'}
            history = [*history, {"role": "user", "content": text}, details, reply]
            yield "", history, answers, gr.skip()
            try:
                with service.slot():
                    stream = service.ask_stream(
                        text,
                        top_n=int(top_n),
                        rerank=rerank,
                        temperature=temperature,
                        model=model,
                        history=turns,
                    )
                    details["metadata"]["title"] = "Writing the answer…"
                    written = ""
                    for piece in stream:
                        written += piece
                        reply["content"] = render.streaming_html(written)
                        yield gr.skip(), history, gr.skip(), gr.skip()
            except MinigiantError as exc:
                history.remove(details)
                reply["content"] = f'<div class="mg-warning">⚠ {escape(str(exc))}</div>'
                yield gr.skip(), history, gr.skip(), gr.skip()
                return
            answer = stream.answer
            answers = {**answers, answer_id: answer}
            answers = dict(list(answers.items())[-KEEP_ANSWERS:])
            history[-2] = _thought(
                render.details_title(answer), render.details_html(answer, answer_id), "done"
            )
            reply["content"] = render.answer_html(answer, answer_id)
            turns = continued(turns, text, answer.text, settings.conversation)
            yield gr.skip(), history, answers, turns

        submitted = question.submit(
            chat,
            [question, chatbot, answers, turns, top_n, rerank, model, temperature],
            [question, chatbot, answers, turns],
            concurrency_limit=web.chat_concurrency,
            concurrency_id="chat",
            api_visibility="private",
            show_progress="minimal",
        )
        question.stop(None, cancels=[submitted], api_visibility="private")
        new_chat.click(
            lambda: ([], {}, [], render.EMPTY_PANEL),
            None,
            [chatbot, answers, turns, passage],
            api_visibility="private",
            queue=False,
        )

        def open_citation(target: str, answers: dict[str, Any]) -> tuple[Any, str]:
            answer_id, _, number = (target or "").partition("/")
            answer = answers.get(answer_id)
            if answer is None or not number.isdigit():
                return gr.Sidebar(open=True), (
                    '<div class="mg-passage-empty">That answer is no longer in this '
                    "session; ask again to see its sources.</div>"
                )
            n = int(number)
            if not 1 <= n <= len(answer.passages):
                return gr.skip(), gr.skip()
            cited = answer.passages[n - 1]
            try:
                context = service.passage_context(cited)
            except MinigiantError:
                context = ("", cited.text, "")
            return gr.Sidebar(open=True), render.passage_html(cited, n, context, answer.verdicts)

        cite_open.click(
            open_citation,
            [cite_target, answers],
            [panel, passage],
            api_visibility="private",
            show_progress="hidden",
        )

        def upload(paths: list[str] | None, progress: gr.Progress = gr.Progress(track_tqdm=True)):  # noqa: B008 - Gradio's way
            if not paths:
                return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            progress(0, desc=f"Adding {len(paths)} file(s)")
            try:
                outcome = service.upload([(Path(p), Path(p).name) for p in paths])
            except MinigiantError as exc:
                raise gr.Error(str(exc)) from exc
            skipped = [r for r in outcome if r.status == "skipped"]
            if skipped:
                gr.Warning(
                    f"{len(skipped)} file(s) not indexed: "
                    + "; ".join(f"{r.name}: {r.detail}" for r in skipped)
                )
            return (
                None,
                gr.Dataframe(value=_result_rows(outcome), visible=True),
                *_index_views(service),
            )

        files.upload(
            upload,
            [files],
            [files, results, documents, to_remove, header],
            concurrency_limit=1,
            concurrency_id="index",
            api_visibility="private",
            show_progress_on=[results],
        )

        def remove_files(paths: list[str] | None):
            if not paths:
                gr.Info("Choose the documents to remove first.")
                return gr.skip(), gr.skip(), gr.skip()
            try:
                service.remove(paths)
            except MinigiantError as exc:
                raise gr.Error(str(exc)) from exc
            gr.Info(f"Removed {len(paths)} file(s) from the index.")
            return _index_views(service)

        remove.click(
            remove_files,
            [to_remove],
            [documents, to_remove, header],
            concurrency_limit=1,
            concurrency_id="index",
            api_visibility="private",
        )
        demo.load(
            lambda: _index_views(service),
            None,
            [documents, to_remove, header],
            api_visibility="private",
        )
        _add_api(service)
    return demo


def _add_api(service: WebService) -> None:
    """Endpoints for gradio_client: the same pipeline, JSON in and out."""
    settings = service.settings

    def ask(
        question: str,
        top_n: int = settings.retrieval.top_n,
        rerank: bool = True,
        temperature: float = settings.generator.temperature,
        model: str = service.default_model,
        history: list | None = None,
    ) -> dict:
        """Answer a question from the index: text with [n] citations, passages, timings.
        `history`: the conversation before it, as [{"role", "content"}, ...], oldest first."""
        with service.slot():
            answer = service.qa(model).ask(
                question,
                top_n=int(top_n),
                rerank=rerank,
                temperature=temperature,
                history=history,
            )
        return answer_json(answer)

    def documents() -> list:
        """The indexed files: file path, size in bytes, chunks, whether uploaded in the page.

        (Not "path": gradio_client would take such a dict for a file to download.)
        """
        return [
            {"file": f.path, "size": f.size, "chunks": f.chunks, "uploaded": f.uploaded}
            for f in service.files()
        ]

    gr.api(
        ask, api_name="ask", concurrency_limit=settings.web.chat_concurrency, concurrency_id="chat"
    )
    gr.api(documents, api_name="documents")


def _thought(title: str, content: str, status: str) -> dict[str, Any]:
    return {"role": "assistant", "content": content, "metadata": {"title": title, "status": status}}


def _header(service: WebService) -> str:
    try:
        counts = service.counts()
    except MinigiantError as exc:
        return f'<div class="mg-header"><h1>minigiant</h1><span>{escape(str(exc))}</span></div>'
    if not counts["files"]:
        stats = "no documents yet: add some in the Documents tab"
    else:
        stats = (
            f"{counts['files']} files · {counts['documents']} documents · "
            f"{counts['chunks']} passages · index v{counts['version']}"
        )
    return (
        '<div class="mg-header"><h1>minigiant</h1>'
        f'<span class="mg-stats">{escape(stats)}</span></div>'
    )


def _size(n: int) -> str:
    return f"{n / 1024:.1f} KB" if n < 2**20 else f"{n / 2**20:.1f} MB"


def _document_rows(service: WebService) -> list[list[Any]]:
    return [
        [f.name, f.chunks, _size(f.size), "uploaded" if f.uploaded else str(Path(f.path).parent)]
        for f in service.files()
    ]


def _document_choices(service: WebService) -> list[tuple[str, str]]:
    return [(f.name, f.path) for f in service.files()]


def _result_rows(outcome: list[FileResult]) -> list[list[str]]:
    return [[r.name, STATUS_LABEL[r.status], r.detail] for r in outcome]


def _index_views(service: WebService) -> tuple[Any, Any, str]:
    return (
        _document_rows(service),
        gr.Dropdown(choices=_document_choices(service), value=[]),
        _header(service),
    )
