"""Which language to write to a customer in: their account's, else the one their first mail is
written in (py3langid, a maintained fork of langid.py: a naive Bayes model over byte n-grams
that knows 142 languages and says how sure it is), else the team's.

A mail is judged only by what the customer wrote this time (subject and new text, no quoted
history, at most ``TEXT_MAX`` characters). A language we have no templates for, or a guess the
model is not sure of ("Danke!", "E42", a pasted log), leaves the team's language: a wrong
language costs more than English.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from typing import Any

TEXT_MAX = 3000  # characters judged: a language shows in its first paragraphs
SURE = 0.8  # the model's probability (normalised over its languages) we act on


@cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # ~1 s to load: only when used

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def ready() -> None:
    """Load the model now (the daemon does at start)."""
    _identifier()


def detect(text: str) -> tuple[str, float]:
    """The language ``text`` is most likely written in (an ISO 639-1 code) and how likely."""
    text = text.strip()[:TEXT_MAX]
    if not text:
        return "", 0.0
    language, probability = _identifier().classify(text)
    return str(language), float(probability)


@dataclass(frozen=True)
class Choice:
    language: str
    why: str


def choose(
    *,
    account_language: str,
    text: str,
    content_language: str,
    available: Collection[str],
    default: str,
    detect_enabled: bool,
) -> Choice:
    """The language of a new ticket's mail, and why (for ``explain``)."""
    if account_language:
        if account_language in available:
            return Choice(account_language, "the account's language")
        return Choice(default, f"the account's language {account_language} has no templates")
    if not detect_enabled:
        return Choice(default, "the team's language (detection is off)")
    found, probability = detect(text)
    if probability >= SURE and found in available:
        return Choice(found, f"the mail is written in it ({probability:.0%} sure)")
    # A mail client names the writer's language (Content-Language: de-DE); a hint, when the
    # text alone is too short to tell.
    hinted = content_language.split(",")[0].strip().split("-")[0].lower()
    if probability < SURE and hinted in available and hinted != default:
        return Choice(hinted, f"the mail's Content-Language ({found or '?'} {probability:.0%})")
    if probability >= SURE:
        return Choice(default, f"the mail is in {found}, which we have no templates for")
    return Choice(default, f"the team's language (the mail's is unclear: {probability:.0%})")
