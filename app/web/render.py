"""HTML for answers, details and the passage panel; plain functions of the pipeline's results.

Text from documents and from the model is always escaped; the only markup is ours. Citation
markers become links `#mg-cite/<answer id>/<n>` that the page script turns into a click on the
hidden "open passage" button (see `assets.py`), so the side panel is filled by the server.
"""

from __future__ import annotations

from html import escape

from app.answer import Answer
from generation.check import SentenceVerdict
from generation.citations import citation_spans
from retrieval.passages import Passage

SCORE_KEYS = ("dense", "lexical", "fused", "rerank")
TIMING_KEYS = ("condense", "retrieve", "rerank", "first_token", "generate", "check", "total")


def cite_link(answer_id: str, number: int, label: str | None = None) -> str:
    text = escape(label) if label else f"[{number}]"
    return (
        f'<a class="mg-cite" href="#mg-cite/{answer_id}/{number}" '
        f'title="Open passage {number}">{text}</a>'
    )


def _linked(text: str, answer_id: str, n_passages: int) -> str:
    """Escape a piece of answer text and turn its valid [n] markers into links."""
    out, last = [], 0
    for start, end, numbers in citation_spans(text):
        if not all(1 <= n <= n_passages for n in numbers):
            continue
        out.append(escape(text[last:start]))
        out.append("".join(cite_link(answer_id, n) for n in numbers))
        last = end
    out.append(escape(text[last:]))
    return "".join(out)


def _verdict_badge(verdict: SentenceVerdict, answer_id: str) -> str:
    if verdict.supported:
        label = f"✓ {verdict.score:.2f}"
        if verdict.passage is not None:
            link = cite_link(answer_id, verdict.passage, label)
            return f'<sup class="mg-ok" title="Supported by passage {verdict.passage}">{link}</sup>'
        return f'<sup class="mg-ok">{label}</sup>'
    where = f", closest passage [{verdict.passage}]" if verdict.passage else ""
    where += "".join(f"; {reason}" for reason in verdict.reasons)
    return (
        f'<sup class="mg-bad" title="No passage supports this sentence{escape(where)}">'
        f"unsupported {verdict.score:.2f}</sup>"
    )


def _with_verdicts(
    text: str, verdicts: list[SentenceVerdict], answer_id: str, n_passages: int
) -> str:
    out, last = [], 0
    for v in sorted(verdicts, key=lambda v: v.start):
        out.append(_linked(text[last : v.start], answer_id, n_passages))
        kind = "mg-supported" if v.supported else "mg-unsupported"
        body = _linked(text[v.start : v.end], answer_id, n_passages)
        out.append(f'<span class="{kind}">{body}</span>{_verdict_badge(v, answer_id)}')
        last = v.end
    out.append(_linked(text[last:], answer_id, n_passages))
    return "".join(out)


def streaming_html(text: str) -> str:
    """The answer while it is being written; citations become links once it is checked."""
    return escape(text) + '<span class="mg-typing"> ▍</span>'


def answer_html(answer: Answer, answer_id: str) -> str:
    """The finished answer: verdicts (when a checker ran), then its sources and timing."""
    n = len(answer.passages)
    parts = []
    if answer.verdicts:
        bad = [v for v in answer.verdicts if not v.supported]
        if bad:
            parts.append(
                f'<div class="mg-warning">⚠ {len(bad)} of {len(answer.verdicts)} sentence(s) '
                "are not supported by the sources; they are marked below.</div>\n\n"
            )
        else:
            parts.append('<div class="mg-grounded">✓ Every sentence is supported.</div>\n\n')
        parts.append(_with_verdicts(answer.text, answer.verdicts, answer_id, n))
    else:
        parts.append(_linked(answer.text, answer_id, n))
    parts.append("\n\n" + sources_html(answer, answer_id))
    return "".join(parts)


def sources_html(answer: Answer, answer_id: str) -> str:
    total = answer.timings.get("total", 0.0)
    meta = f'<span class="mg-meta">{total:.1f} s · index v{answer.index_version}</span>'
    if answer.abstained:
        missing = ", ".join(f"<b>{escape(w)}</b>" for w in answer.missing)
        unnamed = f" The passages found never name {missing}." if missing else ""
        if answer.withdrawn:
            unnamed += f" The draft answer was withdrawn: {escape(answer.withdrawn)}."
        return f'<div class="mg-sources">No answer in the indexed documents.{unnamed} {meta}</div>'
    if not answer.citations:
        return f'<div class="mg-sources">No sources cited. {meta}</div>'
    links = " ".join(
        cite_link(answer_id, c.number, f"[{c.number}] {c.passage.where}") for c in answer.citations
    )
    return f'<div class="mg-sources">Sources: {links} {meta}</div>'


def _score(passage: Passage, key: str) -> str:
    value = passage.scores.get(key)
    return "—" if value is None else f"{value:.3f}"


def details_html(answer: Answer, answer_id: str) -> str:
    """Every retrieved passage with each stage's score, and how long each stage took."""
    cited = {c.number for c in answer.citations}
    rows = []
    for i, p in enumerate(answer.passages, start=1):
        mark = "●" if i in cited else ""
        scores = "".join(f"<td>{_score(p, k)}</td>" for k in SCORE_KEYS)
        rows.append(
            f"<tr><td>{cite_link(answer_id, i)} {mark}</td><td>{escape(p.title)}</td>"
            f"<td>{escape(p.where)}</td>{scores}</tr>"
        )
    head = "".join(f"<th>{k}</th>" for k in ("#", "title", "file", *SCORE_KEYS))
    timings = " · ".join(
        f"{k.replace('_', ' ')} {answer.timings[k]:.2f} s"
        for k in TIMING_KEYS
        if k in answer.timings
    )
    searched = (
        f'<p class="mg-standalone">Searched for: {escape(answer.standalone)}</p>'
        if answer.standalone
        else ""
    )
    return (
        f'<div class="mg-details">{searched}<table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        f'<p class="mg-timings">{timings} · model {escape(answer.model)}</p></div>'
    )


def details_title(answer: Answer) -> str:
    total = answer.timings.get("total", 0.0)
    read = f", read {len(answer.passages)}" if len(answer.passages) != answer.retrieved else ""
    return f"Retrieved {answer.retrieved} passages{read} · details ({total:.1f} s)"


def passage_html(
    passage: Passage,
    number: int,
    context: tuple[str, str, str],
    verdicts: list[SentenceVerdict] | None = None,
) -> str:
    """The side panel: which file, which title, and the passage highlighted in its document."""
    before, text, after = context
    scores = " · ".join(f"{k} {passage.scores[k]:.3f}" for k in SCORE_KEYS if k in passage.scores)
    backing = ""
    if verdicts:
        backed = [v for v in verdicts if v.passage == number and v.supported]
        if backed:
            items = "".join(f"<li>{escape(v.text)} ({v.score:.2f})</li>" for v in backed)
            backing = f'<div class="mg-backs">Supports:<ul>{items}</ul></div>'
    lead = "…" if before else ""
    tail = "…" if after else ""
    return (
        f'<div class="mg-passage" data-number="{number}">'
        f'<div class="mg-passage-num">Passage [{number}]</div>'
        f'<h3 class="mg-passage-title">{escape(passage.title)}</h3>'
        f'<div class="mg-passage-source" title="{escape(passage.source)}">'
        f"{escape(passage.where)}</div>"
        f'<div class="mg-passage-meta">characters {passage.start}-{passage.end}'
        f"{' · ' + scores if scores else ''}</div>{backing}"
        f'<div class="mg-passage-text">{lead}{escape(before)}<mark>{escape(text)}</mark>'
        f"{escape(after)}{tail}</div></div>"
    )


EMPTY_PANEL = (
    '<div class="mg-passage-empty">Click a citation such as [1] to read its passage.</div>'
)
