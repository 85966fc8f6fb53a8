"""End to end against LangChain's standard RAG recipe: same embedder, same GGUF, same questions.

LangChain: RecursiveCharacterTextSplitter (1,000 characters, 200 overlap) -> FAISS.from_documents
with HuggingFaceEmbeddings(all-MiniLM-L6-v2) -> top 4 -> the "rlm/rag-prompt" instructions ->
ChatLlamaCpp on the same GGUF file (its chat template applied) -> StrOutputParser, streamed.
Ours: `QA` with the settings in force (the default stack unless MINIGIANT_* says otherwise),
over the index `minigiant eval qa` builds. Both answer the same seeded SQuAD dev questions,
taking turns at going first, greedy, at most 200 new tokens. Needs the bench extra and
`pip install --no-deps langchain-huggingface`.

    python bench/qa_vs_langchain.py --limit 50
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator

import numpy as np
from common import print_result, setup_logging, squad_qa

from app.eval.datasets import sample
from app.eval.metrics import contains_answer, token_f1
from app.settings import Settings
from generation.citations import without_markers
from indexing.models import resolve_model

RAG_PROMPT = (
    "You are an assistant for question-answering tasks. Use the following pieces of retrieved "
    "context to answer the question. If you don't know the answer, just say that you don't "
    "know. Use three sentences maximum and keep the answer concise.\n"
    "Question: {question} \nContext: {context} \nAnswer:"
)
MAX_TOKENS = 200


def langchain_chain(passages: list[dict[str, str]], gguf: str, context_tokens: int):
    """The recipe as its tutorials write it, built over the same paragraphs we index."""
    from langchain_community.chat_models import ChatLlamaCpp
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnablePassthrough
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    docs = splitter.split_documents(
        [Document(page_content=p["text"], metadata={"title": p["title"]}) for p in passages]
    )
    embeddings = HuggingFaceEmbeddings(
        model_name=resolve_model("all-MiniLM-L6-v2", "bench"),
        model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True},
    )
    retriever = FAISS.from_documents(docs, embeddings).as_retriever(search_kwargs={"k": 4})
    llm = ChatLlamaCpp(
        model_path=gguf, n_ctx=context_tokens, max_tokens=MAX_TOKENS, temperature=0.0, verbose=False
    )

    def joined(found: list[Document]) -> str:
        return "\n\n".join(d.page_content for d in found)

    return (
        {"context": retriever | joined, "question": RunnablePassthrough()}
        | ChatPromptTemplate.from_template(RAG_PROMPT)
        | llm
        | StrOutputParser()
    )


def timed_stream(pieces: Iterator[str]) -> tuple[str, float, float]:
    """Text, seconds to the first non-empty piece, seconds to the end."""
    started, first, text = time.perf_counter(), None, []
    for piece in pieces:
        if piece and first is None:
            first = time.perf_counter() - started
        text.append(piece)
    total = time.perf_counter() - started
    return "".join(text), first if first is not None else total, total


def scored(text: str, golds: list[str]) -> dict[str, float]:
    text = without_markers(text)
    return {"contains_gold": float(contains_answer(text, golds)), "f1": token_f1(text, golds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    setup_logging()
    settings = Settings()
    squad, qa = squad_qa(settings)
    qa.warm_up()
    gguf = resolve_model(settings.generator.model, "generator.model")
    chain = langchain_chain(squad.passages, gguf, settings.generator.context_tokens)
    chain.invoke("warm-up: what is this?")
    runs: dict[str, list[dict[str, float]]] = {"minigiant": [], "langchain": []}
    for k, item in enumerate(sample(squad.items, args.limit, args.seed)):
        sides = {
            "minigiant": lambda q=item.question: timed_stream(iter(qa.ask_stream(q))),
            "langchain": lambda q=item.question: timed_stream(chain.stream(q)),
        }
        for name in sorted(sides, reverse=bool(k % 2)):  # who goes first alternates
            text, first, total = sides[name]()
            runs[name].append({**scored(text, item.answers), "first": first, "total": total})
    rows = [
        {
            "pipeline": name,
            "questions": len(r),
            "contains gold": np.mean([x["contains_gold"] for x in r]),
            "token F1": np.mean([x["f1"] for x in r]),
            "first token p50 s": np.percentile([x["first"] for x in r], 50),
            "total p50 s": np.percentile([x["total"] for x in r], 50),
        }
        for name, r in runs.items()
    ]
    ours, theirs = rows
    print_result(
        f"SQuAD v1.1 dev, {args.limit} seeded questions, {settings.generator.model}",
        rows,
        {
            "contains gold, minigiant / LangChain": ours["contains gold"]
            / max(theirs["contains gold"], 1e-9),
            "time to first token, LangChain / minigiant": theirs["first token p50 s"]
            / ours["first token p50 s"],
            "total time, LangChain / minigiant": theirs["total p50 s"] / ours["total p50 s"],
        },
    )


if __name__ == "__main__":
    main()
