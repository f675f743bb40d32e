"""The details that help an engineer most with a fault report, and whether the customer gave
them: the acknowledgement asks for the missing ones (which ones is configurable per product), so
the first reply can be an answer rather than a question.

Only a mail that reports a fault is asked anything ("the export fails", "error", "crashes"): a
feature request or a question about billing gets no request for a version number.
"""

from __future__ import annotations

import re
from enum import StrEnum

from gateway.text.speech import Ask


class Detail(StrEnum):
    VERSION = "version"
    ERROR = "error"
    SINCE = "since"


_FAULT = re.compile(
    r"\b(fail(s|ed|ing|ure)?|error|errors|broken|crash(es|ed|ing)?|bug|not working|"
    r"doesn'?t work|does not work|stopped|can'?t|cannot|unable|exception|down|hangs?|"
    r"timeouts?|timed out"
    # German and Spanish fault reports (the languages we answer in besides English)
    r"|fehler\w*|fehlgeschlagen|schlägt\b.{0,40}\bfehl|funktioniert (nicht|nicht mehr)|"
    r"geht nicht( mehr)?|abst(u|ü)rz\w*|stürzt\b.{0,40}\bab|kaputt|"
    r"errores|falla(n|ndo)?|fallo|no funciona|se (cuelga|bloquea|cae)|caído|excepción)\b",
    re.IGNORECASE,
)
_GIVEN = {
    Detail.VERSION: re.compile(
        r"\b(v(ersion)?\s*\d+(\.\d+)*|\d+\.\d+(\.\d+)*|latest version|release \S+)\b", re.IGNORECASE
    ),
    Detail.ERROR: re.compile(
        r"(\b[A-Z]{1,5}-?\d{2,}\b|\bexception\b|\btraceback\b|\berror\s*(code|message)?\s*[:\"'“]"
        r"|\b(HTTP\s*)?[45]\d\d\b|[\"“][^\"”]{6,}[\"”])",
        re.IGNORECASE,
    ),
    Detail.SINCE: re.compile(
        r"\b(since|started|began|yesterday|today|tonight|this (morning|afternoon|evening|week)|"
        r"last (night|week|month)|after (the |our |an? )?(update|upgrade|deploy\w*|release)|"
        r"(mon|tues|wednes|thurs|fri|satur|sun)day|\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}|"
        r"seit|gestern|heute|nach dem (update|upgrade)|desde|ayer|hoy|esta mañana)\b",
        re.IGNORECASE,
    ),
}


def reports_a_fault(text: str) -> bool:
    return _FAULT.search(text) is not None


def missing(text: str, wanted: list[Detail], product: str = "") -> list[Ask]:
    """What to ask for: each wanted detail a fault report in ``text`` does not give, as a phrase
    ("which version of exports you are running"); nothing when ``text`` reports no fault."""
    if not reports_a_fault(text):
        return []
    return [Ask(d.value, product) for d in wanted if not _GIVEN[d].search(text)]
