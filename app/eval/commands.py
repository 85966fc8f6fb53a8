"""`minigiant eval retrieval|qa|factuality`: run an eval, write JSON + PNG, print a table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from indexing.errors import MinigiantError

eval_cli = typer.Typer(
    help="Measure quality and speed on real data sets; reports go to runs/<eval>/.",
    no_args_is_help=True,
)

OutOption = Annotated[
    Path | None, typer.Option("--out", help="Report folder (default: runs/<eval name>).")
]
LimitOption = Annotated[
    int | None, typer.Option(help="Evaluate a seeded random sample of this many questions.")
]


def _settings(updates: dict[str, dict[str, object]]):
    """Settings as the CLI loads them, with per-eval overrides of nested sections."""
    from app.cli import load_settings

    settings = load_settings()
    for section, values in updates.items():
        values = {k: v for k, v in values.items() if v is not None}
        if values:
            current = getattr(settings, section)
            # validated, so a mistyped option fails here naming its field
            updated = type(current).model_validate(current.model_dump() | values)
            settings = settings.model_copy(update={section: updated})
    return settings


@eval_cli.command("retrieval")
def retrieval(
    dataset: Annotated[Path, typer.Option(help="BEIR folder: corpus.jsonl, queries, qrels/.")],
    split: Annotated[str, typer.Option(help="qrels/<split>.tsv to score against.")] = "test",
    reranker: Annotated[
        str | None, typer.Option(help="CrossEncoder id or folder for hybrid+rerank.")
    ] = None,
    rerank_k: Annotated[int | None, typer.Option(help="Hybrid candidates reranked.")] = None,
    rerank_mode: Annotated[
        str | None, typer.Option(help="replace, rrf or blend (retrieval.rerank_mode).")
    ] = None,
    rerank_weight: Annotated[
        float | None, typer.Option(help="The reranker's share in blend mode.")
    ] = None,
    rerank_int8: Annotated[bool | None, typer.Option(help="Dynamic int8 reranker on CPU.")] = None,
    depth: Annotated[int, typer.Option(help="Documents ranked per query.")] = 100,
    limit: LimitOption = None,
    out: OutOption = None,
) -> None:
    """nDCG@10, Recall@10/100, MRR@10 and queries/s for lexical, dense, hybrid, +rerank."""
    from app.eval.datasets import BeirDataset
    from app.eval.report import bar_chart, format_table, write_report
    from app.eval.retrieval_eval import RetrievalEval, retrieval_table

    settings = _settings(
        {
            "retrieval": {
                "reranker": reranker,
                "rerank_k": rerank_k,
                "rerank_mode": rerank_mode,
                "rerank_weight": rerank_weight,
                "rerank_int8": rerank_int8,
            }
        }
    )
    data = BeirDataset.load(dataset, split)
    report = RetrievalEval(data, settings, depth=depth, limit=limit).run()
    groups = {
        name: {m: r[m] for m in report["measures"]}
        for name, r in report["systems"].items()
        if r["status"] == "ok"
    }
    figure = bar_chart(
        groups,
        f"{data.name} ({split}, {report['queries']} queries)",
        {"best anchor nDCG@10": max(report["anchors_ndcg@10"].values())}
        if report["anchors_ndcg@10"]
        else None,
    )
    path = write_report(out or Path("runs/retrieval"), data.name, report, figure)
    typer.echo(format_table(retrieval_table(report)))
    typer.echo(f"report: {path}  index: {report['index']}")


@eval_cli.command("qa")
def qa(
    dataset: Annotated[
        Path, typer.Option(help="SQuAD json, scifact-claims jsonl, or question/answers jsonl.")
    ],
    corpus: Annotated[
        Path | None, typer.Option(help="BEIR corpus.jsonl to answer from, if not implied.")
    ] = None,
    checker: Annotated[str | None, typer.Option(help="Checker model folder or id.")] = None,
    limit: LimitOption = 100,
    seed: Annotated[int, typer.Option(help="Seed of the question sample.")] = 0,
    out: OutOption = None,
) -> None:
    """Exact match / F1 / citation precision, or verdict accuracy for claims; latency."""
    from app.eval.datasets import load_qa_set
    from app.eval.qa_eval import QAEval
    from app.eval.report import bar_chart, format_table, write_report

    settings = _settings({"checker": {"model": checker}})
    qa_set = load_qa_set(dataset, corpus)
    report = QAEval(qa_set, settings, limit=limit, seed=seed).run()
    summary = report["summary"]
    rates = {
        k: v
        for k, v in summary.items()
        if v is not None and not k.startswith(("latency", "first_token"))
    }
    figure = bar_chart({qa_set.name: rates}, f"{qa_set.name}: {report['questions']} questions")
    path = write_report(out or Path("runs/qa"), qa_set.name, report, figure)
    typer.echo(format_table([{"metric": k, "value": v} for k, v in summary.items()]))
    typer.echo(f"report: {path}  index: {report['index']}")


@eval_cli.command("conversation")
def conversation(
    dataset: Annotated[Path, typer.Option(help="The MTRAG folder.")],
    k: Annotated[int, typer.Option(help="Passages retrieved per turn.")] = 5,
    rewrite: Annotated[
        list[str] | None,
        typer.Option(help="Ways of reading the conversation to compare (default: all four)."),
    ] = None,
    answers: Annotated[
        bool,
        typer.Option(
            help="Also answer every turn: with each --rewrite way given, else without "
            "rewriting and with the configured way."
        ),
    ] = False,
    limit: LimitOption = None,
    seed: Annotated[int, typer.Option(help="Seed of the turn sample.")] = 0,
    out: OutOption = None,
) -> None:
    """Follow-up questions: recall of each turn's passages per way of reading the
    conversation (off, concat, auto, always), and with --answers F1 and abstention."""
    from app.eval.conversation_eval import REWRITES, ConversationEval
    from app.eval.datasets import load_mtrag
    from app.eval.report import bar_chart, format_table, write_report

    unknown = set(rewrite or []) - set(REWRITES)
    if unknown:
        raise MinigiantError(f"--rewrite takes {', '.join(REWRITES)}, not {sorted(unknown)}")
    tasks, passages = load_mtrag(dataset)
    report = ConversationEval(
        tasks,
        passages,
        _settings({}),
        limit=limit,
        seed=seed,
        k=k,
        rewrites=tuple(rewrite or REWRITES),
        answers=answers,
        answer_modes=tuple(dict.fromkeys(rewrite)) if rewrite else None,
    ).run()
    recall = f"recall@{k}"
    rows = [
        {
            "rewrite": mode,
            **{kind: r[recall][kind] for kind in sorted(r[recall])},
            "rewritten": r["rewritten"],
            "rewrite_p50_s": r["rewrite_p50_s"],
        }
        for mode, r in report["retrieval"].items()
    ]
    typer.echo(format_table(rows))
    groups = {mode: r[recall] for mode, r in report["retrieval"].items()}
    for mode, result in report.get("answers", {}).items():
        summary = {k: v for k, v in result.items() if k != "records"}
        typer.echo(format_table([{"answers": mode, **summary}]))
    figure = bar_chart(groups, f"MTRAG {recall}: {report['turns']} turns")
    path = write_report(out or Path("runs/conversation"), "mtrag", report, figure)
    typer.echo(f"report: {path}  index: {report['index']}")


@eval_cli.command("factuality")
def factuality(
    dataset: Annotated[
        Path,
        typer.Option(
            help="jsonl with evidence, claim, label; or the shared scifact-claims, halueval "
            "or mtrag folder."
        ),
    ],
    checker: Annotated[
        str | None, typer.Option(help="Checker model folder or id (default: checker.model).")
    ] = None,
    limit: LimitOption = None,
    out: OutOption = None,
) -> None:
    """Balanced accuracy and ROC AUC of the checker on whole answers, threshold chosen on a
    dev half and at the configured one."""
    from app.eval.datasets import sample
    from app.eval.factuality_eval import FactualityEval
    from app.eval.factuality_sets import load_factuality_set
    from app.eval.report import format_table, roc_figure, write_report

    settings = _settings({"checker": {"model": checker}})
    if not settings.checker.model:
        raise MinigiantError("no checker to evaluate: pass --checker or set checker.model")
    name = dataset.stem if dataset.is_file() else dataset.name
    report = FactualityEval(sample(load_factuality_set(dataset), limit), settings.checker).run()
    test = [
        (label, score)
        for label, score, split in zip(
            report["labels"], report["scores"], report["split"], strict=True
        )
        if split == "test"
    ]
    figure = roc_figure(
        [t[0] for t in test], [t[1] for t in test], report["threshold"], f"{name} (test)"
    )
    path = write_report(out or Path("runs/factuality"), name, report, figure)
    rows = [
        {
            "split": split,
            "threshold": report[key].get("threshold", report["threshold"]),
            **{k: report[key][k] for k in ("balanced_accuracy", "roc_auc", "n", "positives")},
        }
        for split, key in (
            ("dev (tuned)", "dev"),
            ("test", "test"),
            ("test @ setting", "test_at_setting_threshold"),
            ("all @ setting", "all_at_setting_threshold"),
        )
    ]
    rows += [
        {
            "split": f"  {kind} @ setting",
            "threshold": report["all_at_setting_threshold"]["threshold"],
            **scores,
        }
        for kind, scores in report["by_kind"].items()
    ]
    typer.echo(format_table(rows))
    if "spearman_with_rating" in report:
        typer.echo(f"Spearman with the human ratings: {report['spearman_with_rating']:.3f}")
    typer.echo(f"report: {path}")


@eval_cli.command("injection")
def injection(
    limit: LimitOption = None,
    seed: Annotated[int, typer.Option(help="Seed of the variant sample.")] = 0,
    out: OutOption = None,
) -> None:
    """Prompt-injection variants: share of replies on the question, share reproducing it."""
    from app.eval.datasets import sample
    from app.eval.injection_eval import run_injection_eval
    from app.eval.injections import variants
    from app.eval.report import bar_chart, format_table, write_report

    report = run_injection_eval(_settings({}), sample(variants(), limit, seed))
    figure = bar_chart(report["by_carrier"], f"injection: {report['variants']} variants")
    path = write_report(out or Path("runs/injection"), "injection", report, figure)
    rows = [{"carrier": "all", **report["summary"]}]
    rows += [{"carrier": name, **rates} for name, rates in report["by_carrier"].items()]
    typer.echo(format_table(rows))
    typer.echo(f"report: {path}")
