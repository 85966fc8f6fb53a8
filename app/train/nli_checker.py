"""`minigiant train checker-nli`: a three-way cross-encoder (supported / not enough
information / contradicted) that reads an answer sentence against an evidence window.

The feature checker judges topical overlap, so a sentence that reuses the evidence's words
to say the opposite passes it. This model reads both texts together. It starts from our
trained reranker (a cross-encoder that already relates two texts) and learns from:
- natural-language inference and fact-verification pairs with permissive licences, given
  as jsonl files (`--nli`: premise, hypothesis, label);
- our own permissive pairs (app/train/checker_data.py): answer and summary sentences with
  their evidence windows, minimal edits that contradict them, sentences whose support was
  removed, and hallucinated answers, which say only "not supported".

That last kind has no three-way label, so its loss pushes down P(supported) alone:
-log(1 - P(supported)). The checker's score is P(supported).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from tqdm import tqdm

from app.eval.metrics import best_threshold, binary_classification
from app.train.checker_data import Pair, labels_of
from app.train.export import export_compact
from app.train.recipes import LICENCES, checker_pairs, scifact_dev_pairs
from app.train.trainer import TrainConfig, TrainLog, write_card
from generation.check import CheckerSettings, FactChecker
from indexing.kernels import best_precision
from indexing.models import resolve_model
from retrieval.cross_encoder import load_cross_encoder

log = logging.getLogger(__name__)

LABELS = ("entailment", "neutral", "contradiction")
NOT_SUPPORTED = -1  # neutral or contradiction, the data does not say which
_NLI_LABELS = {
    "entailment": 0,
    "supports": 0,
    "neutral": 1,
    "not enough info": 1,
    "contradiction": 2,
    "refutes": 2,
}
# our pairs' kinds (checker_data.py) as three-way labels; "qa" is the only one whose negative
# is unknown: a hallucinated answer may contradict its knowledge or merely go beyond it
_KIND_LABELS = {
    "copy": 0,
    "summary": 0,
    "conclusion": 0,
    "corrupt": 2,
    "summary-corrupt": 2,
    "conclusion-corrupt": 2,
    "removed": 1,
    "other": 1,
    "summary-elsewhere": 1,
    "qualified": 1,
}
INIT = "minigiant-reranker"
# the --nli files this model was trained on, by file stem: what they are and their licence
# (see the model card for where each came from)
NLI_SOURCES = {
    "snli_dev": ("SNLI 1.0 dev split", "CC BY-SA 4.0"),
    "mnli_dev_matched": (
        "MultiNLI 1.0 dev matched",
        "OANC; its fiction genre CC BY-SA 3.0 / CC BY 3.0",
    ),
    "mnli_taxinli_extra": (
        "MultiNLI 1.0 pairs (mostly dev mismatched) listed in microsoft/TaxiNLI, MultiNLI's "
        "own text and gold labels only",
        "OANC; its fiction genre CC BY-SA 3.0 / CC BY 3.0",
    ),
    "cad_snli": (
        "Counterfactually-Augmented SNLI (Kaushik et al. 2020: SNLI pairs and human minimal "
        "edits that flip the label), acmi-lab/counterfactually-augmented-data",
        "Apache-2.0 (the repository); SNLI text CC BY-SA 4.0",
    ),
    "conjnli": (
        "ConjNLI adversarial training set and dev (Saha et al. 2020), swarnaHub/ConjNLI",
        "MIT",
    ),
    "breaking_nli": (
        "Breaking NLI (Glockner et al. 2018: SNLI premises with one word swapped), "
        "BIU-NLP/Breaking_NLI",
        "CC BY-SA 4.0",
    ),
    "med": ("MED, monotonicity entailment (Yanaka et al. 2019), verypluming/MED", "CC BY-SA 4.0"),
    "pubmedqa_statements": (
        "PubMedQA-L yes/no questions (test split excluded) said as findings both ways by "
        "Qwen2.5-Coder-1.5B-Instruct, labelled by the experts' answers against the abstract's "
        "results and background (`minigiant train pubmedqa-statements`)",
        "MIT (PubMedQA); the generator is Apache-2.0",
    ),
}


@dataclass(frozen=True)
class Example:
    premise: str
    hypothesis: str
    label: int  # index into LABELS, or NOT_SUPPORTED
    kind: str


def read_nli(path: Path) -> list[Example]:
    """jsonl rows with premise, hypothesis and label (entailment/neutral/contradiction, or
    FEVER's SUPPORTS/NOT ENOUGH INFO/REFUTES); rows with another label are skipped."""
    examples = []
    with Path(path).open() as handle:
        for n, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                label = _NLI_LABELS.get(str(row["label"]).strip().lower())
                premise, hypothesis = str(row["premise"]), str(row["hypothesis"])
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{path}:{n}: not a premise/hypothesis/label row") from exc
            if label is not None and premise.strip() and hypothesis.strip():
                examples.append(Example(premise, hypothesis, label, Path(path).stem))
    return examples


def own_examples(pairs: list[Pair]) -> list[Example]:
    return [
        Example(
            p.text1,
            p.text2,
            _KIND_LABELS.get(p.kind, 0 if p.label >= 0.5 else NOT_SUPPORTED),
            p.kind,
        )
        for p in pairs
    ]


def _batches(examples: list[Example], size: int, rng: random.Random) -> list[list[Example]]:
    """Batches of similar length (less padding: NLI pairs are short, evidence windows long),
    in random order."""
    order = examples[:]
    rng.shuffle(order)
    chunk = size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(
            order[start : start + chunk], key=lambda e: len(e.premise) + len(e.hypothesis)
        )
        batches += [part[i : i + size] for i in range(0, len(part), size) if i + size <= len(part)]
    rng.shuffle(batches)
    return batches


def _loss(logits, labels):
    import torch

    logp = torch.log_softmax(logits.float(), dim=-1)
    three_way = labels >= 0
    loss = torch.zeros((), dtype=logp.dtype)
    if three_way.any():
        loss = loss + torch.nn.functional.nll_loss(
            logp[three_way], labels[three_way], reduction="sum"
        )
    if (~three_way).any():
        not_supported = torch.logsumexp(logp[~three_way][:, 1:], dim=-1)
        loss = loss - not_supported.sum()
    return loss / len(labels)


def _initial_model(init: str, max_length: int):
    """`init`'s encoder with a fresh three-way head, unless it is a three-way checker already
    (then training goes on from it, head and all)."""
    import torch

    cross = load_cross_encoder(
        resolve_model(init, "train --init"), "cpu", max_length, "train --init", precision="float32"
    )
    model = cross.model
    if tuple(model.config.id2label.get(i) for i in range(len(LABELS))) == LABELS:
        return model, cross.tokenizer
    model.classifier = torch.nn.Linear(model.config.hidden_size, len(LABELS))
    model.num_labels = len(LABELS)
    model.config.num_labels = len(LABELS)
    model.config.id2label = dict(enumerate(LABELS))
    model.config.label2id = {label: i for i, label in enumerate(LABELS)}
    return model, cross.tokenizer


def fit(examples: list[Example], config: TrainConfig, out: Path, init: str = INIT) -> Path:
    """Train for `config.steps` batches (epochs repeat as needed); returns the full model
    folder."""
    import torch
    from transformers import get_linear_schedule_with_warmup, set_seed

    set_seed(config.seed)
    rng = random.Random(config.seed)
    model, tokenizer = _initial_model(init, config.max_length)
    model.base_model.embeddings.requires_grad_(False)
    model.train()
    optimiser = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=config.learning_rate,
        weight_decay=0.01,
    )
    schedule = get_linear_schedule_with_warmup(
        optimiser, int(config.steps * config.warmup_ratio), config.steps
    )
    bf16 = best_precision("cpu") == "bfloat16"
    batches: list[list[Example]] = []
    bar = tqdm(range(config.steps), desc="checker-nli", unit="step")
    running = 0.0
    for step in bar:
        if not batches:
            batches = _batches(examples, config.batch_size, rng)
        batch = batches.pop()
        inputs = tokenizer(
            [e.premise for e in batch],
            [e.hypothesis for e in batch],
            truncation="longest_first",
            max_length=config.max_length,
            padding=True,
            return_tensors="pt",
        )
        labels = torch.tensor([e.label for e in batch])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(**inputs).logits
        loss = _loss(logits, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()
        running = 0.98 * running + 0.02 * loss.item() if step else loss.item()
        if step % 50 == 0:
            bar.set_postfix(loss=f"{running:.3f}")
            log.info("step %d loss %.4f", step, running)
    full = out / "checkpoints" / "final"
    model.save_pretrained(str(full))
    tokenizer.save_pretrained(str(full))
    return full


def train_nli_checker(
    out: Path,
    config: TrainConfig,
    nli: list[Path],
    window: int,
    own_items: int = 4000,
    init: str = INIT,
) -> TrainLog:
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    # evidence windows of up to 100 words (`checker.window_words`, what the app will cut
    # passages into) and a sentence fit in 192 tokens
    config = replace(config, max_length=192, learning_rate=7e-5, warmup_ratio=0.05)
    train_pairs, dev_pairs = checker_pairs(config.seed, own_items, window)
    examples = own_examples(train_pairs)
    for path in nli:
        examples += read_nli(path)
    log.info("checker-nli: %d training pairs", len(examples))
    full = fit(examples, config, out, init)
    export_compact(full, out, "all-MiniLM-L6-v2", config.max_length, labels=LABELS)
    run = TrainLog(
        "checker-nli",
        config,
        {"train": dict(Counter(e.kind for e in examples)), "dev": len(dev_pairs)},
    )
    checker = FactChecker(CheckerSettings(model=str(out), threshold=0.5, window_words=window))
    dev_probs = checker.score([(p.text1, p.text2) for p in dev_pairs])
    threshold = best_threshold(labels_of(dev_pairs), dev_probs)
    run.dev = {
        f"own_dev_{k}": v
        for k, v in binary_classification(labels_of(dev_pairs), dev_probs, threshold).items()
    }
    run.dev["threshold"] = threshold
    scifact = scifact_dev_pairs()
    sf_probs = checker.score([(p.text1, p.text2) for p in scifact])
    scores = binary_classification(labels_of(scifact), sf_probs, threshold)
    run.dev.update({f"scifact_dev_{k}": v for k, v in scores.items()})
    manifest = out / "minigiant.json"
    spec = json.loads(manifest.read_text())
    manifest.write_text(json.dumps(spec | {"threshold": threshold}, indent=2))
    run.wall_seconds = time.perf_counter() - started
    sources = dict(LICENCES)
    for path in nli:
        name, licence = NLI_SOURCES.get(path.stem, (path.name, "unknown: check before shipping"))
        sources[name] = licence
    write_card(
        out,
        run,
        "Factuality checker: a three-way cross-encoder (supported / not enough information / "
        "contradicted) over an (evidence window, answer sentence) pair; minigiant uses "
        f"P(supported), windows long evidence into {window}-word pieces and takes the best. "
        f"Use with `checker.model=<this folder>`; its threshold ({threshold:.3f}, chosen on "
        "held-out pairs) ships in minigiant.json.",
        sources,
        method=(
            (
                "Method: our reranker's encoder (all-MiniLM-L6-v2 fine-tuned, Apache-2.0) with a "
                "new three-way head, trained"
                if init == INIT
                else f"Method: the three-way checker {init!r} trained further"
            )
            + f" for {config.steps} steps of {config.batch_size} pairs "
            f"(max length {config.max_length}, lr {config.learning_rate}, seed {config.seed}, "
            f"embeddings frozen, bf16 autocast where the CPU has it) in "
            f"{run.wall_seconds / 60:.1f} minutes."
        ),
        reproduce=(
            f"Reproduce: `minigiant train checker-nli --out DIR --steps {config.steps} "
            f"--batch-size {config.batch_size} --seed {config.seed} "
            + ("" if init == INIT else f"--init {init} ")
            + " ".join(f"--nli {p.name}" for p in nli)
            + "`."
        ),
    )
    return run
