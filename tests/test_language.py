"""Which questions are translated before retrieval: foreign ones, never English ones."""

from __future__ import annotations

import json

import pytest

from app.eval.datasets import data_root
from generation.language import is_foreign


@pytest.mark.parametrize(
    "question",
    [
        "Wie erstelle ich eine virtuelle Umgebung?",
        "Was ist Docker?",
        "Comment créer un environnement virtuel ?",
        "Qu'est-ce qu'un dictionnaire ?",
        "¿Qué es una comprensión de listas?",
        "Che cos'è una lista?",
        "O que é uma tupla?",
        "Hoe maak ik een virtuele omgeving?",
        "Как создать виртуальное окружение?",
        "如何创建虚拟环境\uff1f",
        "仮想環境の作り方は\uff1f",
    ],
)
def test_questions_in_other_languages_are_foreign(question: str) -> None:
    assert is_foreign(question)


@pytest.mark.parametrize(
    "question",
    [
        "How do I create a virtual environment?",
        "Who play Serena van der Woodsen?",
        "What causes El Niño?",
        "When did La Liga start?",
        "Is there no more room on the Zürich train?",
        "pandas read_csv sep",
        "numpy.linalg.norm ord",
        "42",
        "",
    ],
)
def test_english_questions_names_and_code_are_not(question: str) -> None:
    assert not is_foreign(question)


def test_no_squad_dev_question_is_taken_for_foreign() -> None:
    """10,570 English questions written by crowd workers, names of every origin among them:
    each one taken for foreign would cost a translation before its answer."""
    path = data_root() / "squad-v1.1" / "dev-v1.1.json"
    if not path.exists():
        pytest.skip(f"{path} not found")
    data = json.loads(path.read_text())
    questions = [
        qa["question"] for art in data["data"] for par in art["paragraphs"] for qa in par["qas"]
    ]
    assert len(questions) > 10_000
    assert [q for q in questions if is_foreign(q)] == []
