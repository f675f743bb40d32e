"""Which language to write to a customer in: their account's, else the one their first mail is
written in, else the team's.

A mail's language is read from its words: running text is a third to a half articles,
pronouns, prepositions and auxiliaries, and each language has its own (gateway/mail/words_of.py
lists them for the languages we ship and the ones most often mistaken for them). Each language
scores the words of the mail it knows; how sure the gateway is is that score against the other
languages' (a softmax), and against how much of the text are such words at all (a log, a
product code or a language we know no words of has few). ``scripts/bench-language`` measures it
on a labelled set beside a 142-language naive Bayes model (py3langid): about as accurate on
paragraph-length text in the languages we write, more often unsure on a single short sentence,
without the model's 118 MB and half a second of loading.

A mail is judged only by what the customer wrote this time (subject and new text, no quoted
history, at most ``TEXT_MAX`` characters). A language we have no templates for, or a text we are
not sure of ("Danke!", "E42", a pasted log), leaves the team's language: a wrong language costs
more than English.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache

from gateway.mail.words_of import LETTERS, WORDS

TEXT_MAX = 3000  # characters judged: a language shows in its first paragraphs
SURE = 0.8  # how sure (0 to 1) the gateway must be to act on what it read
WEIGHT = 2.0  # how much one more known word makes a language likelier than another
DENSE = 0.15  # the share of known words below which a text is not running text in any of ours
LATIN_END = "\u024f"  # the last letter of Latin Extended-B
_TOKEN = re.compile(r"[^\W\d_]+")


@cache
def _lexicon() -> dict[str, tuple[str, ...]]:
    """Each known word and the languages it belongs to."""
    out: dict[str, list[str]] = {}
    for language, words in WORDS.items():
        for word in words.split():
            out.setdefault(word, []).append(language)
    return {word: tuple(languages) for word, languages in out.items()}


@cache
def _letters() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for language, letters in LETTERS.items():
        for letter in letters:
            out.setdefault(letter, []).append(language)
    return {letter: tuple(languages) for letter, languages in out.items()}


def ready() -> None:
    """Build the word table now (the daemon does at start)."""
    _lexicon()


def detect(text: str) -> tuple[str, float]:
    """The language ``text`` is most likely written in (an ISO 639-1 code) and how sure."""
    tokens = _TOKEN.findall(text[:TEXT_MAX].lower())
    if not tokens:
        return "", 0.0
    lexicon = _lexicon()
    scores = dict.fromkeys(WORDS, 0)
    known = 0
    for token in tokens:
        languages = lexicon.get(token)
        if languages:
            known += 1
            for language in languages:
                scores[language] += 1
    for letter in set(text[:TEXT_MAX].lower()) & _letters().keys():
        for language in _letters()[letter]:
            scores[language] += 1
    best = max(scores, key=scores.__getitem__)
    if not scores[best]:
        return "", 0.0
    top = scores[best]
    share = 1.0 / sum(math.exp(WEIGHT * (n - top)) for n in scores.values())
    density = min(1.0, known / len(tokens) / DENSE)
    # Letters beyond the Latin alphabets (Cyrillic, Greek, CJK...) are text in a language we
    # know no words of: the English words of a pasted error in a Japanese mail do not make it
    # English.
    letters = sum(map(len, tokens))
    latin = 1.0 - sum(len(t) for t in tokens if max(t) > LATIN_END) / letters
    return best, share * density * latin


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
