"""Subjects as mail clients write them: reply and forward prefixes in many languages, and the
ticket tokens a thread collects.

Every subject we send is ``Re: <the customer's subject, bare> [SUP-n]``: one prefix, one token,
however many ``Re: AW: SV: Fwd:`` and tokens the thread piled up. A token in brackets threads a
mail; one written bare or in parentheses (``SUP-12``, ``(SUP-12)``) threads it only for the
ticket's own people (the pipeline checks that).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# Reply and forward prefixes of the common clients, as localised (Outlook, Gmail, Apple Mail,
# Thunderbird): English, German, Nordic, Dutch, French, Spanish/Portuguese, Italian, Polish,
# Czech/Slovak, Finnish, Turkish, Greek, Russian, Chinese, Japanese, Korean.
_PREFIX_WORDS = (
    "re",
    "fw",
    "fwd",
    "aw",  # German "Antwort"
    "wg",  # German "Weitergeleitet"
    "sv",  # Swedish, Norwegian, Danish "Svar"
    "vs",  # Finnish "Vastaus"
    "vb",  # Danish "Videresendt"
    "vl",  # Finnish "Välitetty"
    "antw",  # Dutch
    "doorst",  # Dutch "Doorsturen"
    "tr",  # French "Transféré"
    "réf",
    "ref",
    "rv",  # Spanish "Reenviar"
    "res",  # Portuguese "Resposta"
    "enc",  # Portuguese "Encaminhar"
    "rif",  # Italian
    "r",  # Italian "Risposta" (Outlook)
    "i",  # Italian "Inoltro" (Outlook)
    "odp",  # Polish "Odpowiedź"
    "pd",  # Polish "Przekazanie dalej"
    "yan",  # Turkish "Yanıt"
    "ynt",
    "ilt",  # Turkish "İlet"
    "απ",  # Greek
    "σχετ",
    "πρθ",
    "отв",  # Russian
    "пересл",
    "回复",  # Chinese
    "回覆",
    "答复",
    "转发",
    "轉寄",
    "返信",  # Japanese
    "転送",
    "답장",  # Korean
    "전달",
)
_WORDS = "|".join(sorted({re.escape(w) for w in _PREFIX_WORDS}, key=len, reverse=True))
# "Re:", "RE :", "Re[2]:", "Re^2:", "Re(3):", "Fwd:", full-width colons; and a bracketed list
# tag such as "[EXTERNAL]" in front of them is kept (it is the customer's own words).
_PREFIX = re.compile(
    rf"^\s*(?:{_WORDS})\s*(?:\[\d+\]|\^\d+|\(\d+\))?\s*[:：]\s*", re.IGNORECASE | re.UNICODE
)


@dataclass(frozen=True)
class Token:
    key: str  # SUP-12
    bracketed: bool  # [SUP-12]; bare or in parentheses otherwise


def strip_prefixes(subject: str) -> str:
    """The subject without its leading reply/forward prefixes, however many and in whatever
    language (``AW: Re: SV: Fwd: Help`` -> ``Help``)."""
    previous = None
    while previous != subject:
        previous = subject
        subject = _PREFIX.sub("", subject, count=1)
    return subject.strip()


def _token_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(
        rf"(?P<open>[\[(]?)\s*(?<![\w-])(?P<key>{re.escape(prefix)}-\d{{1,9}})(?![\w-])\s*"
        r"(?P<close>[\])]?)",
        re.IGNORECASE,
    )


def tokens(subject: str, prefix: str) -> list[Token]:
    """The ticket tokens written in ``subject``, in order: bracketed ones first (a bracketed
    token is ours for sure; a bare one may be the customer's words)."""
    found = []
    for m in _token_pattern(prefix).finditer(subject):
        key = prefix + m.group("key")[len(prefix) :]  # the prefix as configured, any case written
        found.append(Token(key, m.group("open") == "[" and m.group("close") == "]"))
    return sorted(found, key=lambda t: not t.bracketed)


def without_tokens(subject: str, prefix: str) -> str:
    """``subject`` with every ticket token of ours (bracketed, in parentheses or bare) taken
    out, so a subject we send carries only its own ticket's token."""
    pattern = _token_pattern(prefix)

    def drop(m: re.Match[str]) -> str:
        # "(SUP-1)" and "[SUP-1]" go whole; a lone bracket that was not the token's stays.
        paired = (m.group("open"), m.group("close")) in (("[", "]"), ("(", ")"))
        if paired or not (m.group("open") or m.group("close")):
            return " "
        return " " + (m.group("open") or "") + (m.group("close") or "")

    return re.sub(r"\s{2,}", " ", pattern.sub(drop, subject)).strip()


def bare(subject: str, prefix: str) -> str:
    """The customer's own words of ``subject``: no reply/forward prefixes, no tokens of ours."""
    return strip_prefixes(without_tokens(strip_prefixes(subject), prefix))


def reply_subject(subject: str, key: str, shorten: Callable[[str], str] = str) -> str:
    """``Re: <subject, bare and shortened> [key]``: one prefix, this ticket's token only."""
    words = shorten(bare(subject, key.rpartition("-")[0]))
    return f"Re: {words or '(no subject)'} [{key}]"
