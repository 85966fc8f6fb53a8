"""Mail: one .eml message, or every message of an .mbox, with From, To, Date and Subject kept
above the body (a question about who wrote what, when, needs them)."""

from __future__ import annotations

import mailbox
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from indexing.documents import Document
from indexing.errors import SkipFile
from indexing.extract import MAX_TEXT_FILE_BYTES, html_text, read_text_bytes, tidy

HEADERS = ("From", "To", "Cc", "Date", "Subject")
MAX_MBOX_BYTES = 256 * 2**20


def message_text(message: EmailMessage) -> tuple[str, str]:
    """(subject, text): the kept headers, then the plain body (or the HTML one as text)."""
    lines = [f"{name}: {message[name]}" for name in HEADERS if message[name]]
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None:
        content = body.get_content()
        if body.get_content_type() == "text/html":
            content = html_text(content)[1]
        lines += ["", str(content)]
    return str(message["Subject"] or "").strip(), tidy("\n".join(lines))


def load_eml(path: Path) -> list[Document]:
    data = read_text_bytes(path)
    if b"\x00" in data[:8192]:
        raise SkipFile("binary content (NUL bytes), not an e-mail message")
    message = BytesParser(policy=policy.default).parsebytes(data)
    if not any(message[name] for name in HEADERS):
        raise SkipFile(f"not an e-mail message (none of the headers {', '.join(HEADERS)})")
    subject, text = message_text(message)
    return [Document(str(path), str(path), subject or path.stem, text)]


def load_mbox(path: Path) -> list[Document]:
    size = path.stat().st_size
    if size > MAX_MBOX_BYTES:
        raise SkipFile(f"too large: {size / 2**20:.0f} MB, the limit is {MAX_MBOX_BYTES >> 20} MB")
    box = mailbox.mbox(path, factory=lambda f: BytesParser(policy=policy.default).parse(f))
    documents = []
    try:
        for number, message in enumerate(box, 1):
            subject, text = message_text(message)
            if len(text) > MAX_TEXT_FILE_BYTES:
                text = text[:MAX_TEXT_FILE_BYTES]
            if text:
                documents.append(
                    Document(f"{path}#{number}", str(path), subject or f"message {number}", text)
                )
    finally:
        box.close()
    if not documents:
        raise SkipFile("no messages in the mailbox")
    return documents
