"""The three evals end to end through the CLI, on small slices of the real shared data."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.eval.datasets import MTRAG_FILE, BeirDataset, data_root, is_dev
from app.eval.qa_eval import STAGES
from indexing.index_dir import IndexDir
from indexing.store import ChunkStore
from retrieval.hybrid import RetrievalOptions

DATA = data_root()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (DATA / "scifact").exists(), reason=f"no data at {DATA}"),
]
SLICE_DOCS = 120


def write_scifact_slice(folder: Path, docs: int = SLICE_DOCS) -> BeirDataset:
    """The first test queries whose judged abstracts fit in `docs` abstracts, plus fillers."""
    full = BeirDataset.load(DATA / "scifact")
    keep: set[str] = set()
    queries = []
    for qid in sorted(full.qrels, key=int):
        wanted = keep | set(full.qrels[qid])
        if len(wanted) > docs // 2:
            break
        keep, queries = wanted, [*queries, qid]
    lines = full.corpus.read_text().splitlines()
    chosen = [line for line in lines if json.loads(line)["_id"] in keep]
    chosen += [line for line in lines if json.loads(line)["_id"] not in keep][: docs - len(keep)]
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("\n".join(chosen) + "\n")
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": q, "text": full.queries[q]}) + "\n" for q in queries)
    )
    rows = [f"{q}\t{d}\t1" for q in queries for d in full.qrels[q]]
    (folder / "qrels" / "test.tsv").write_text("\r\n".join(["query-id\tcorpus-id\tscore", *rows]))
    return BeirDataset.load(folder)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private eval cache and short answers, so tests never touch the shared cache."""
    root = tmp_path_factory.mktemp("eval")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MINIGIANT_EVAL_CACHE", str(root / "cache"))
        patch.setenv("MINIGIANT_GENERATOR__MAX_TOKENS", "48")
        yield root


@pytest.fixture(scope="module")
def scifact_slice(workspace: Path) -> BeirDataset:
    return write_scifact_slice(workspace / "scifact")


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, ["eval", *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_retrieval_eval_scores_all_systems_and_reuses_its_index(
    workspace: Path, scifact_slice: BeirDataset, untrained_cross_encoder: Path
) -> None:
    out = workspace / "runs"
    args = ["retrieval", "--dataset", str(scifact_slice.corpus.parent), "--out", str(out)]
    table = invoke(*args, "--reranker", str(untrained_cross_encoder), "--rerank-k", "10")
    report = json.loads((out / "scifact.json").read_text())
    assert (out / "scifact.png").stat().st_size > 0
    systems = report["systems"]
    assert list(systems) == ["lexical", "dense", "hybrid", "hybrid+rerank"]
    assert all(s["status"] == "ok" for s in systems.values())
    assert report["queries"] == len(scifact_slice.queries) >= 10
    assert report["documents"] == SLICE_DOCS
    for name in ("lexical", "dense", "hybrid"):
        # 120 abstracts with half of them judged: every real retriever finds most targets
        assert 0.5 < systems[name]["nDCG@10"] <= 1.0, name
        assert systems[name]["R@100"] >= 0.9, name
        assert systems[name]["queries_per_s"] > 0
    # recall@100 covers the whole slice, so reranking 10 candidates cannot lose a document
    assert systems["hybrid+rerank"]["R@100"] == pytest.approx(systems["hybrid"]["R@100"])
    assert "hybrid+rerank" in table and "anchor: BM25 (BEIR paper)" in table

    index = IndexDir(Path(report["index"]))
    version = index.current().number
    invoke(*args, "--limit", "3")
    rerun = json.loads((out / "scifact.json").read_text())
    assert index.current().number == version, "an unchanged corpus must not be re-indexed"
    assert rerun["queries"] == 3
    # by default our shipped reranker runs, reading the windows richest in the query's terms
    shipped = RetrievalOptions()
    assert rerun["reranker"] == "minigiant-reranker"
    assert shipped.rerank_window_words is not None and shipped.rerank_windows_read is not None
    assert rerun["rerank_window_words"] == shipped.rerank_window_words
    assert rerun["rerank_windows_read"] == shipped.rerank_windows_read
    assert rerun["systems"]["hybrid+rerank"]["status"] == "ok"
    invoke(*args, "--limit", "3", "--reranker", "")
    off = json.loads((out / "scifact.json").read_text())
    assert off["systems"]["hybrid+rerank"]["status"].startswith("not configured")

    # the same corpus at another path (a cache copied from another checkout) replaces it
    moved = workspace / "elsewhere" / "scifact"
    shutil.copytree(scifact_slice.corpus.parent, moved)
    invoke("retrieval", "--dataset", str(moved), "--out", str(out), "--limit", "3")
    store = ChunkStore(index.current().sqlite_path, readonly=True)
    try:
        assert list(store.files()) == [str((moved / "corpus.jsonl").resolve())]
    finally:
        store.close()


def test_qa_eval_on_claims(workspace: Path, scifact_slice: BeirDataset) -> None:
    dev_claims = [
        line
        for line in (DATA / "scifact-claims" / "train.jsonl").read_text().splitlines()
        if is_dev(json.loads(line)["claim_id"])
        and json.loads(line)["label"] != "NOT_ENOUGH_INFO"
        and any(json.loads(line)["doc_id"] in docs for docs in scifact_slice.qrels.values())
    ]
    claims = workspace / "scifact-claims" / "train.jsonl"
    claims.parent.mkdir()
    claims.write_text("\n".join(dev_claims[:2]) + "\n")
    out = workspace / "qa"
    args = ["qa", "--dataset", str(claims), "--corpus", str(scifact_slice.corpus)]
    invoke(*args, "--out", str(out), "--limit", "2")
    report = json.loads((out / "scifact-claims-dev.json").read_text())
    assert report["questions"] == 2 and report["kind"] == "claims"
    assert report["index"].endswith("scifact-all-MiniLM-L6-v2")
    summary = report["summary"]
    assert 0.0 <= summary["verdict_accuracy"] <= 1.0
    assert summary["latency_p50_s"] > 0
    assert 0.0 <= summary["checker_accepted"] <= 1.0  # the shipped checker is on by default
    for answer in report["answers"]:
        assert answer["predicted"] in ("yes", "no", None)
        assert answer["gold_cited"] == (answer["gold"] is not None and answer["gold_cited"])


def test_qa_eval_on_squad_slice(workspace: Path) -> None:
    squad = json.loads((DATA / "squad-v1.1" / "dev-v1.1.json").read_text())
    article = squad["data"][0]
    article["paragraphs"] = article["paragraphs"][:3]
    folder = workspace / "squad-v1.1"
    folder.mkdir()
    (folder / "dev-v1.1.json").write_text(json.dumps({"data": [article], "version": "1.1"}))
    out = workspace / "qa"
    output = invoke(
        "qa", "--dataset", str(folder / "dev-v1.1.json"), "--out", str(out), "--limit", "2"
    )
    report = json.loads((out / "squad-v1.1.json").read_text())
    assert (out / "squad-v1.1.png").exists() and "exact_match" in output
    summary = report["summary"]
    assert 0.0 <= summary["exact_match"] <= summary["f1"] <= 1.0
    # an exact match always contains the gold answer
    assert summary["exact_match"] <= summary["answer_contains_gold"] <= 1.0
    # three paragraphs, each question's own among them: retrieval of the gold passage is easy
    assert summary["gold_retrieved"] == 1.0
    # every question states its gold or lost it at exactly one stage
    lost = sum(summary[f"lost_at_{stage}"] for stage in STAGES)
    assert summary["answer_contains_gold"] + lost == pytest.approx(1.0)
    assert all(
        (r["lost_at"] is None) == r["contains_gold"] and r["gold_retrieved"]
        for r in report["answers"]
    )


def test_conversation_eval_scores_recall_and_answers_with_the_gates_signals(
    workspace: Path,
) -> None:
    folder = workspace / "mtrag"
    folder.mkdir()
    tasks = (DATA / "mtrag" / MTRAG_FILE).read_text().splitlines()[:8]
    (folder / MTRAG_FILE).write_text("\n".join(tasks) + "\n")
    out = workspace / "conversation"
    args = ["--limit", "4", "--rewrite", "off", "--rewrite", "auto", "--answers", "--out", str(out)]
    output = invoke("conversation", "--dataset", str(folder), *args)
    report = json.loads((out / "mtrag.json").read_text())
    assert report["turns"] == 4 and "answered_answerable" in output
    recall = report["retrieval"]["off"]["recall@5"]
    assert 0.0 <= min(recall.values()) <= max(recall.values()) <= 1.0
    # answered each way asked for: the last question alone, then the default way
    assert list(report["answers"]) == ["off", "auto"]
    for answers in report["answers"].values():
        assert answers["records"]
        for record in answers["records"]:
            # what the gate weighed, so another gate's decisions can be read off the run
            assert {"doubt", "refusal", "best", "coverage", "dense"} <= set(record)
            assert record["abstained"] or isinstance(record["best"], float)


def test_factuality_eval(workspace: Path, untrained_cross_encoder: Path) -> None:
    rows = [
        line
        for line in (DATA / "scifact-claims" / "train.jsonl").read_text().splitlines()
        if is_dev(json.loads(line)["claim_id"])
    ][:40]
    pairs = workspace / "pairs.jsonl"
    pairs.write_text("\n".join(rows) + "\n")
    out = workspace / "fact"
    table = invoke(
        "factuality",
        "--dataset",
        str(pairs),
        "--checker",
        str(untrained_cross_encoder),
        "--out",
        str(out),
    )
    report = json.loads((out / "pairs.json").read_text())
    assert report["items"] == 40 and len(report["scores"]) == 40
    assert all(0.0 <= s <= 1.0 for s in report["scores"])
    assert 0.0 <= report["threshold"] <= 1.0
    assert report["dev"]["n"] + report["test"]["n"] == 40
    assert 0.0 <= report["test"]["balanced_accuracy"] <= 1.0
    assert (out / "pairs.png").exists() and "test @ setting" in table

    # without --checker it scores the configured one, the shipped checker by default
    shipped = workspace / "shipped"
    invoke("factuality", "--dataset", str(pairs), "--out", str(shipped))
    scored = json.loads((shipped / "pairs.json").read_text())
    assert scored["checker"] == "minigiant-checker" and len(scored["scores"]) == 40
    unset = CliRunner().invoke(
        cli, ["eval", "factuality", "--dataset", str(pairs)], env={"MINIGIANT_CHECKER__MODEL": ""}
    )
    assert "pass --checker or set checker.model" in str(unset.exception)
