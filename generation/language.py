"""Whether a question, or a passage, is written in a language other than English.

The embedder, the reranker and the pruner's word overlap read English, so a question in
German over English documents finds little, and the answerability gate then abstains. Such a
question is translated for retrieval (generation/condense.py), unless the passages it finds
as written are in a foreign language too: over German documents a German question is the
one that matches their words. The test must cost nothing and never fire on English
questions, code or names: a text counts as foreign where most of its letters are in another
script, or where it has more function words of German, French, Spanish, Italian, Portuguese
or Dutch than of English (words English writes too, such as "was", and the particles of
names, such as "van der", count for neither).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

_ENGLISH_TEXT = """
what which who whom whose when where why how is are does did do can could should would the
a an of to for with from about and or not no this that these those there here it its in on
at by as be been has have had were will all any some if my me you your i more most than
"""
# function words of each language, less those English writes too
_FOREIGN_TEXT = {
    "de": """wie wo wer wen wem wessen warum wieso weshalb welche welcher welches wann ist
        sind kann können muss müssen soll sollte wird werden das dem ein eine einen einem
        einer und oder nicht mit für von zu zum zur ich mein meine man sich auf aus bei nach
        gibt macht mache erstelle""",
    "fr": """qu que quoi quel quelle quels quelles comment pourquoi où est sont peut peuvent
        faut dois doit un une des au aux et ou pas avec pour dans je mon ma mes il elle ce
        cette ces qui fait faire""",
    "es": """qué cuál cuáles quién quiénes cómo dónde cuándo cuánto cuántos por porqué es
        son puedo puede pueden debo las una unos unas al y con para en mi mis hace hacer""",
    "it": """che cosa chi quale quali perché dove quando quanto è sono posso può il lo gli
        dello degli delle nel nella con non""",
    "pt": """os um uma uns umas dos nos nas em com para por eu meu minha é são pode podem
        como onde quando porque qual quais faz fazer""",
    "nl": """hoe wat waar waarom wanneer welke kan kunnen moet het een voor met niet ik mijn
        je jij""",
}
_ENGLISH = frozenset(_ENGLISH_TEXT.split())
# particles of names ("Serena van der Woodsen", "La Liga", "El Niño") count for no language
_PARTICLES_TEXT = "van der den de la le les du da di del della dos das el los"
_NAME_PARTICLES = frozenset(_PARTICLES_TEXT.split())
_FOREIGN = frozenset(w for text in _FOREIGN_TEXT.values() for w in text.split()) - (
    _ENGLISH | _NAME_PARTICLES
)
# letters of scripts other than Latin (Cyrillic, Greek, Arabic, Hebrew, Indic, CJK, Hangul,
# Thai, ...): any letter whose Unicode name does not start with LATIN
_MOSTLY_OTHER_SCRIPT = 0.5


def is_foreign(text: str) -> bool:
    """True where the text (a question, a passage) is most likely not written in English."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    other = sum(not unicodedata.name(c, "").startswith("LATIN") for c in letters)
    if other / len(letters) > _MOSTLY_OTHER_SCRIPT:
        return True
    words = [w.lower() for w in _WORD.findall(text)]
    foreign = sum(w in _FOREIGN for w in words)
    english = sum(w in _ENGLISH for w in words)
    return foreign > english


def mostly_foreign(texts: Sequence[str]) -> bool:
    """Whether most of the texts (passages a question found) are not written in English."""
    return sum(map(is_foreign, texts)) * 2 > len(texts)
