"""minigiant: retrieval-augmented question answering where small models work around a large one.

>>> from app import QA
>>> qa = QA.open("my-index")
>>> print(qa.ask("How do I create a virtual environment?").text)
"""

from app.answer import Answer, AnswerStream, Citation
from app.qa import QA
from app.settings import Settings

__all__ = ["QA", "Answer", "AnswerStream", "Citation", "Settings"]
