"""What `minigiant train injection-detector` fits on (app/train/injection_detector.py).

Positives: the attack instructions of Microsoft's BIPIA benchmark (MIT; a clone's
`benchmark/` folder, given with --bipia), bare and behind generic override framings, and
injections composed at random (addressee, override, demand).
Negatives: sentences of ordinary prose and documentation from permissively licensed sets in
../shared/data (MTRAG contexts, HaluEval knowledge, PubMedQA abstracts) and the Python docs
(PSF), whose imperatives ("Run the command...") must not count as attacks; lines that
address their reader ("Please reply by Friday"): BIPIA's benign e-mails and everyday messages
written by the offline generator; fragments (cells, names, dates) and mail header lines. A
share of both classes is translated into eight languages by the offline Qwen2.5-Coder-0.5B
(an LLM curating data for a small model), so no language marks either class. The
prompt-injection suite (`minigiant eval injection`) is never trained on: it is the test.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from app.eval.datasets import data_root
from app.train.injection_synthetic import composed, fragments, framed, mail_headers, replies
from generation.sentences import sentence_spans

# the generated translations and messages, kept across runs (minutes of generation)
CACHE = Path("runs/injection-detector")
LANGUAGES = (
    "French",
    "German",
    "Spanish",
    "Italian",
    "Portuguese",
    "Chinese",
    "Russian",
    "Japanese",
)
TRANSLATED_PER_LANGUAGE = 40  # of each class
TRANSLATED_NEGATIVE_WEIGHT = 5.0
READER_NEGATIVE_WEIGHT = 15.0
FRAGMENTS = 2400  # headings, names, table cells, numbers and dates among the negatives
MAIL_HEADERS = 800  # From/To/Cc/Date/Subject lines, as the mail loader writes them
REPLIES = 400  # ordinary sentences behind a reply's framing ("As you requested, ...")
PLANTED_IN_REPLY = 150  # attack instructions behind one, among the positives
PLANTED_IN_SUBJECT = 150  # attack instructions behind "Subject: ", among the positives
# everyday messages that address the reader ("Please reply by Friday", "You can pick up your
# badge at the front desk"), written by the offline generator: kinds x topics of them
MESSAGE_KINDS = (
    "a short email to a colleague",
    "a notice to customers",
    "instructions from an IT help desk",
    "an announcement from HR to staff",
    "a tip from a product manual",
    "a reminder about an appointment",
    "a shipping notification",
    "a note from a landlord to tenants",
    "an invitation to a meeting",
    "a message from a school to parents",
    "a bank's notice to an account holder",
    "a travel booking confirmation",
    # replies, which name the reader's request or question as attacks do (_REPLY_FRAMINGS)
    "a reply from customer support to a customer's question",
    "a follow-up email about a colleague's earlier request",
    "a reply confirming a customer's booking request",
)
MESSAGE_TOPICS = (
    "a deadline moving to Friday",
    "a password that expires soon",
    "a parcel that will arrive late",
    "the office closing for a holiday",
    "a form that must be signed",
    "a software update tonight",
    "a refund that was approved",
    "a change of meeting room",
    "a library book that is overdue",
    "a new parking policy",
)
PYTHON_DOCS = Path("/usr/share/doc/python3.11/html")

_FIELD_NAME = re.compile(r"^[A-Z_ ]+: ")  # "SUBJECT: ", "CONTENT: " of BIPIA's mail contexts
_ADDRESSED = re.compile(r"\b(your|you|response|reply|answer|respond)\b", re.IGNORECASE)

LICENCES = {
    "BIPIA attack instructions (microsoft/BIPIA)": "MIT",
    "MTRAG contexts": "Apache-2.0",
    "HaluEval QA knowledge": "MIT",
    "PubMedQA-L contexts": "MIT",
    "Python 3.11 documentation": "PSF-2.0",
    "translations by Qwen2.5-Coder-0.5B-Instruct": "Apache-2.0 model; outputs of the above",
    "BIPIA email contexts (from OpenAI Evals), train split": "MIT",
    "everyday messages written by Qwen2.5-Coder-1.5B-Instruct": "Apache-2.0 model; its outputs",
}


def bipia_instructions(folder: Path) -> list[str]:
    """Attack instructions that address the model, and the first sentence of each code
    attack (the code after it is not prose)."""
    found = []
    for name in ("text_attack_train.json", "text_attack_test.json"):
        for attacks in json.loads((folder / name).read_text()).values():
            found += [a.strip() for a in attacks if _ADDRESSED.search(a)]
    for name in ("code_attack_train.json", "code_attack_test.json"):
        for attacks in json.loads((folder / name).read_text()).values():
            found += [a.split("```")[0].strip().rstrip(":") + "." for a in attacks]
    return list(dict.fromkeys(found))


def ordinary_sentences(limit: int, rng: random.Random) -> list[str]:
    """Prose and documentation sentences from the permissive sets, shuffled."""
    texts: list[str] = []
    for line in (data_root() / "mtrag" / "mtragun_generation_reference.jsonl").open():
        texts += [c["text"] for c in json.loads(line)["contexts"]]
    halu = (data_root() / "halueval" / "dataset_halueval_qa.jsonl").open()
    texts += [json.loads(line)["knowledge"] for _, line in zip(range(3000), halu, strict=False)]
    pubmed = json.loads((data_root() / "pubmedqa" / "ori_pqal.json").read_text())
    texts += [" ".join(item["CONTEXTS"]) for item in pubmed.values()]
    texts += list(_python_docs(300, rng))
    sentences = _sentences(texts)
    rng.shuffle(sentences)
    return sentences[:limit]


def _sentences(texts: Sequence[str]) -> list[str]:
    """The texts' sentences of 20 to 400 characters, spacing normalised, each once."""
    sentences = [
        " ".join(t[a:b].split()) for t in texts for a, b in sentence_spans(t) if 20 <= b - a <= 400
    ]
    return list(dict.fromkeys(sentences))


def reader_sentences(bipia: Path, cache: Path) -> list[str]:
    """Sentences that address the reader without addressing a model: BIPIA's own email
    contexts (its train split, the benign mail its attacks are planted in) and everyday
    messages the offline generator writes. Prose from articles and docs rarely says "you",
    and the detector flagged half of such lines ("Please reply by Friday", "Don't forget to
    bring your laptop charger"), so a mail or a notice lost its answer in the pruner."""
    texts = []
    for line in (bipia / "email" / "train.jsonl").read_text().splitlines():
        for field in json.loads(line)["context"].split("|"):
            texts.append(_FIELD_NAME.sub("", field))
    return _sentences([*texts, *written_messages(cache)])


def written_messages(cache: Path) -> list[str]:
    """One everyday message per kind and topic, written once by the default generator and
    kept in `cache` by kind and topic, so a kind added later writes only its own (10-20 s a
    message on 2 AVX2 cores)."""
    written = json.loads(cache.read_text()) if cache.exists() else {}
    keys = {
        f"{kind} | {topic}": (kind, topic) for kind in MESSAGE_KINDS for topic in MESSAGE_TOPICS
    }
    missing = [key for key in keys if key not in written]
    if missing:
        from generation.engines import GeneratorSettings, make_generator

        generator = make_generator(GeneratorSettings())
        for key in tqdm(missing, desc="writing messages", unit="message"):
            kind, topic = keys[key]
            prompt = (
                f"Write {kind} about {topic}: four to six plain sentences that speak to the "
                "reader as you. Write only the message, without a subject line or signature."
            )
            reply = "".join(generator.stream([{"role": "user", "content": prompt}], 200, 0.0))
            written[key] = reply.strip()
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(written, ensure_ascii=False, indent=0))
    return [written[key] for key in keys]


def _python_docs(pages: int, rng: random.Random) -> Iterator[str]:
    from indexing.loaders import load_html

    files = sorted(PYTHON_DOCS.rglob("*.html")) if PYTHON_DOCS.exists() else []
    for path in rng.sample(files, min(pages, len(files))):
        for document in load_html(path):
            yield document.text


def translations(texts: Sequence[str], language: str, generator) -> list[str]:
    """`texts` in `language`, eight numbered lines per prompt; lines the model drops or
    leaves untranslated are left out."""
    out = []
    for start in range(0, len(texts), 8):
        batch = texts[start : start + 8]
        lines = "\n".join(f"{n}. {t}" for n, t in enumerate(batch, 1))
        messages = [
            {
                "role": "user",
                "content": f"Translate each numbered line into {language}. Keep the numbers; "
                f"reply with the translated lines only.\n\n{lines}",
            }
        ]
        reply = "".join(generator.stream(messages, 60 * len(batch), 0.0))
        for match in re.finditer(r"^\s*(\d+)\.\s*(.+)$", reply, re.MULTILINE):
            n, text = int(match.group(1)), match.group(2).strip()
            if 1 <= n <= len(batch) and text and text != batch[n - 1]:
                out.append(text)
    return out


def _translated_examples(
    positives: Sequence[str], negatives: Sequence[str], cache: Path, rng: random.Random
) -> tuple[list[str], list[str]]:
    """Translations, generated once and kept in `cache` (they take minutes on a CPU). The
    samples are drawn either way, so a run from the cache splits and trains as the first."""
    picked = []
    for language in LANGUAGES:
        pos_sample = rng.sample(list(positives), TRANSLATED_PER_LANGUAGE)
        picked.append((language, pos_sample, rng.sample(list(negatives), TRANSLATED_PER_LANGUAGE)))
    if cache.exists():
        data = json.loads(cache.read_text())
        return data["positives"], data["negatives"]
    from generation.engines import GeneratorSettings, make_generator

    generator = make_generator(
        GeneratorSettings(engine="llama_cpp", model="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
    )
    pos, neg = [], []
    for language, pos_sample, neg_sample in tqdm(picked, desc="translating", unit="language"):
        pos += translations(pos_sample, language, generator)
        neg += translations(neg_sample, language, generator)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"positives": pos, "negatives": neg}, ensure_ascii=False))
    return pos, neg


@dataclass
class TrainingSet:
    """The sentences in the order the fit reads them (English positives, translated ones,
    English negatives, fragments, translated negatives), with labels, sample weights, which
    are fragments (the thresholds are set without them), and how many of each kind."""

    texts: list[str]
    labels: np.ndarray
    weights: np.ndarray
    fragment: np.ndarray
    counts: dict[str, int]


def training_set(bipia: Path, rng: random.Random) -> TrainingSet:
    """Everything the detector is fitted on; `rng` draws every sample, so a seed gives one set
    (from the cached translations and messages, the set of the run that wrote them)."""
    instructions = bipia_instructions(bipia)
    positives = instructions + framed(instructions, rng)
    negatives = ordinary_sentences(12 * len(positives), rng)
    pos_tr, neg_tr = _translated_examples(positives, negatives, CACHE / "translations.json", rng)
    positives += composed(1500, rng)
    # an injection in a subject line is still one: the header name marks neither class
    positives += [f"Subject: {text}" for text in rng.sample(instructions, PLANTED_IN_SUBJECT)]
    positives += replies(instructions, PLANTED_IN_REPLY, rng)
    short = fragments(negatives, FRAGMENTS, rng) + mail_headers(negatives, MAIL_HEADERS, rng)
    addressed = reader_sentences(bipia, CACHE / "messages.json")
    addressed += replies(negatives, REPLIES, rng)
    reader = len(positives) + len(pos_tr) + len(negatives)  # where they sit in `texts`
    negatives += addressed
    texts = positives + pos_tr + negatives + short + neg_tr
    fragment = np.zeros(len(texts), dtype=bool)
    start = len(positives) + len(pos_tr) + len(negatives)
    fragment[start : start + len(short)] = True
    negatives += short
    labels = np.array([1] * (len(positives) + len(pos_tr)) + [0] * (len(negatives) + len(neg_tr)))
    # translated ordinary sentences are few next to the English ones: weighted up, so that
    # another script alone does not look like an attack
    weights = np.ones(len(texts))
    weights[len(positives) + len(pos_tr) + len(negatives) :] = TRANSLATED_NEGATIVE_WEIGHT
    # so are the lines that address the reader, whose "you" and "please" the attacks share
    # (at 5, more of them were still flagged and fewer planted lines, README)
    weights[reader : reader + len(addressed)] = READER_NEGATIVE_WEIGHT
    counts = {
        "bipia_instructions": len(instructions),
        "positives_english": len(positives),  # BIPIA, framed BIPIA, composed
        "positives_translated": len(pos_tr),
        "negatives_english": len(negatives),  # sentences, then fragments
        "addressing_the_reader": len(addressed),  # among negatives_english
        "fragments": len(short),  # cells, then mail header lines
        "negatives_translated": len(neg_tr),
    }
    return TrainingSet(texts, labels, weights, fragment, counts)
