"""minigiant's retriever and QA runnable inside real LangChain chains."""

from __future__ import annotations

from operator import itemgetter
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough

from app.langchain import MinigiantRetriever, qa_runnable
from app.qa import QA
from app.settings import Settings
from tests.conftest import FACTS


@pytest.fixture(scope="module")
def qa(built_index: Path) -> QA:
    return QA(Settings(index=built_index, conversation={"rewrite": "concat"}))


def test_the_retriever_feeds_a_prompt_in_an_lcel_chain(qa: QA) -> None:
    retriever = MinigiantRetriever(qa=qa, top_n=3)
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from:\n{context}"), ("human", "{question}")]
    )
    chain = {
        "context": retriever | (lambda docs: "\n".join(d.page_content for d in docs)),
        "question": RunnablePassthrough(),
    } | prompt
    question = FACTS["page.html"][2]
    messages = chain.invoke(question).to_messages()
    assert "Kestrel Ridge" in messages[0].content and messages[1].content == question

    docs = retriever.invoke(question)
    assert len(docs) == 3 and [d.metadata["rank"] for d in docs] == [1, 2, 3]
    top = docs[0].metadata
    assert Path(top["source"]).name == "page.html"
    assert top["end"] > top["start"] >= 0 and "rerank" in top["scores"]


def test_the_qa_runnable_answers_inside_a_chain_with_history(qa: QA) -> None:
    question = FACTS["notes.txt"][2]
    chain = qa_runnable(qa) | itemgetter("answer", "documents", "standalone")
    answer, documents, standalone = chain.invoke(question)
    assert answer and Path(documents[0].metadata["source"]).name == "notes.txt"
    assert standalone is None

    follow_up = {
        "question": "And what colour are the cranes there?",
        "history": [HumanMessage(question), AIMessage("4,812 [1].")],
    }
    out = qa_runnable(qa).invoke(follow_up)
    assert out["standalone"] == f"{question} And what colour are the cranes there?"
    assert set(out["cited"]) <= set(range(1, len(out["documents"]) + 1))
