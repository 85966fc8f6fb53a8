"""minigiant inside LangChain: a retriever that returns `Document`s, and the whole QA as a
runnable. Import this module only where LangChain is wanted; nothing else imports it.

>>> from app.langchain import MinigiantRetriever, qa_runnable
>>> retriever = MinigiantRetriever(qa=QA.open("my-index"))
>>> docs = retriever.invoke("How do I activate a virtual environment?")
>>> qa_runnable(qa).invoke({"question": "and on Windows?", "history": [...]})["answer"]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.messages import BaseMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import ConfigDict

from app.answer import Answer
from app.qa import QA
from retrieval.passages import Passage

_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


def passage_document(passage: Passage, rank: int) -> Document:
    """A passage as a LangChain Document: its text, with where it comes from and every score
    it earned in the metadata (offsets are characters of the source document)."""
    return Document(
        page_content=passage.text,
        metadata={
            "source": passage.source,
            "doc_uri": passage.doc_uri,
            "title": passage.title,
            "chunk_id": passage.chunk_id,
            "start": passage.start,
            "end": passage.end,
            "rank": rank,
            "scores": dict(passage.scores),
        },
    )


class MinigiantRetriever(BaseRetriever):
    """Hybrid retrieval (dense + FTS5, fused, reranked) over a minigiant index."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    qa: QA
    top_n: int | None = None  # None: settings.retrieval.top_n
    rerank: bool = True

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        passages = self.qa.retrieve(query, top_n=self.top_n, rerank=self.rerank)
        return [passage_document(p, rank) for rank, p in enumerate(passages, 1)]


def _history(messages: Sequence[BaseMessage | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """LangChain messages (or role/content dicts) as the OpenAI-style turns `QA.ask` takes."""
    turns = []
    for message in messages:
        if isinstance(message, BaseMessage):
            role = _ROLES.get(message.type)
            if role is None:
                raise ValueError(f"history holds a {message.type!r} message; use human and ai")
            turns.append({"role": role, "content": message.content})
        else:
            turns.append(dict(message))
    return turns


def answer_output(answer: Answer) -> dict[str, Any]:
    """What the runnable returns: the answer with its [n] markers, the passages it read as
    Documents (numbered as the markers count), and the checker's and condenser's findings."""
    return {
        "answer": answer.text,
        "documents": [passage_document(p, n) for n, p in enumerate(answer.passages, 1)],
        "cited": [c.number for c in answer.citations],
        "abstained": answer.abstained,
        "grounded": answer.grounded,
        "standalone": answer.standalone,
        "timings": dict(answer.timings),
    }


def qa_runnable(qa: QA) -> Runnable:
    """The whole QA as a runnable: input a question, or {"question", "history"} where history
    is a list of LangChain messages or role/content dicts."""

    def answer(query: str | Mapping[str, Any]) -> dict[str, Any]:
        if isinstance(query, str):
            return answer_output(qa.ask(query))
        history = _history(query.get("history") or [])
        return answer_output(qa.ask(query["question"], history=history))

    return RunnableLambda(answer, name="minigiant_qa")
