"""The customer's points: every question and every listed item of the new text of a mail.

The new text is what the customer wrote this time: quoted history and signatures are removed
with mail-parser-reply; HTML-only mail is reduced to text first. A point is a numbered or bulleted
item (a customer listing five bugs has five points) or a sentence ending in a question mark (also
the full-width one) or a request without one ("Please tell me how…", :func:`is_request`), in the
customer's order, at most ``limit``. A very short question keeps the
sentence before it, so "Why?" stays recognisable.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from html.parser import HTMLParser

from mailparser_reply import EmailReplyParser

_ITEM = re.compile(r"^\s*(?:\d{1,3}[.)]|[-*•–])\s+(?P<text>\S.*)$")
_DASH_BULLET = re.compile(r"^[ \t]*[-*–][ \t]+(?=\S)", re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?？。！])\s+")
_QUESTION = re.compile(r"[?？]\s*[\"')\]]*$")
# A request is a point though it ends in a full stop: "Please tell me how to schedule it."
_REQUEST = re.compile(
    r"^(?:please|kindly|could you|can you|would you|will you|i need|we need|i'd like|we'd like|"
    r"i would like|we would like|i want to know|we want to know|let (?:me|us) know|tell me|"
    r"advise|help (?:me|us)|send (?:me|us)|bitte|können sie|könnten sie|ich brauche|wir brauchen|"
    r"merci de|pourriez-vous|pouvez-vous|j'ai besoin|nous avons besoin|por favor|podrían|"
    r"puede|necesito|necesitamos|per favore|potete|potreste|ho bisogno|abbiamo bisogno|graag|"
    r"kunt u|kun je|wilt u|ik heb .{1,20} nodig|we hebben .{1,20} nodig)\b",
    re.IGNORECASE,
)
# ... but not the courtesy that closes a mail: "Let me know if you need anything else."
_NOT_REQUEST = re.compile(
    r"\bif (?:you|there) (?:need|have|is|are|want|require)|\bif anything\b|\bany (?:more )?"
    r"questions\b|\bwenn sie (?:noch )?fragen|\bsi vous avez (?:des|besoin)|\bsi necesita|"
    r"\bin advance\b|\bfor your (?:help|time|patience)\b|^(?:please|kindly) (?:find|see|note|be "
    r"advised|ignore|excuse|accept|forgive|disregard)\b|^bitte (?:beachten|entschuldigen)",
    re.IGNORECASE,
)
_MAX_CHARS = 300
_SHORT = 16  # "Can you help?" needs the sentence before it to be recognisable
_LANGUAGES = ["en", "de", "fr", "es", "it", "nl"]


class _Text(HTMLParser):
    """HTML to text, keeping paragraphs and list items on their own lines."""

    _BREAKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote", "ul"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._quote = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1
        if tag == "blockquote":
            self._quote += 1  # quoted history in HTML mail
        if tag in self._BREAKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._skip = max(0, self._skip - 1)
        if tag == "blockquote":
            self._quote = max(0, self._quote - 1)
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip and not self._quote:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    return "\n".join(line.strip() for line in text.splitlines()).strip()


def new_text(text: str, html: str = "") -> str:
    """What the customer wrote this time: no quoted history, no signature."""
    if len(text) + len(html) > _CACHED_MAX:
        return _new_text(text, html)
    return _new_text_cached(text, html)


_CACHED_MAX = 100_000  # characters: a longer mail is read again when asked again (memory)


@functools.lru_cache(maxsize=64)
def _new_text_cached(text: str, html: str) -> str:
    # Several steps ask for one message's new text (its points, its problem, its language,
    # whether it is a thank-you): the reply parser reads it once.
    return _new_text(text, html)


def _new_text(text: str, html: str) -> str:
    body = text if text.strip() else html_to_text(html)
    if not body.strip():
        return ""
    # The reply parser takes a line starting "- " for the start of a signature: bullets become
    # "• " first, so a list of bugs survives.
    body = _DASH_BULLET.sub("• ", body)
    try:
        replies = EmailReplyParser(languages=_LANGUAGES).read(body).replies
    except Exception:  # the reply parser must never cost us the customer's mail
        return body.strip()
    return replies[0].body.strip() if replies else body.strip()


def is_request(sentence: str) -> bool:
    """A sentence that asks for something without a question mark ("Please tell me how…",
    "I need…", "Let us know whether…"), not a closing courtesy ("Let me know if you need…")."""
    s = sentence.strip()
    return bool(_REQUEST.match(s)) and not _NOT_REQUEST.search(s) and len(s.split()) >= 3


def extract(text: str, html: str = "", limit: int = 10) -> list[str]:
    """The customer's points, in order (see the module docstring)."""
    points: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        sentences = _SENTENCE_END.split(" ".join(paragraph))
        previous_was_point = False
        for i, s in enumerate(sentences):
            s = s.strip()
            if s and (_QUESTION.search(s) or is_request(s)):
                if len(s) < _SHORT and i > 0:
                    if previous_was_point:  # "Is there a workaround? Why?" is one point
                        points[-1] = f"{points[-1]} {s}"
                        continue
                    s = f"{sentences[i - 1].strip()} {s}"
                points.append(s)
                previous_was_point = True
            else:
                previous_was_point = False
        paragraph.clear()

    for line in new_text(text, html).splitlines():
        item = _ITEM.match(line)
        if item:
            flush()
            points.append(item.group("text").strip())
        elif line.strip():
            paragraph.append(line.strip())
        else:
            flush()
    flush()
    out = []
    for p in points:
        p = " ".join(p.split())
        p = p if len(p) <= _MAX_CHARS else p[: _MAX_CHARS - 1].rstrip() + "…"
        if p not in out:
            out.append(p)
    return out[:limit]


_GREETING = re.compile(
    r"^(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|hallo|bonjour|hola|ciao)\b",
    re.IGNORECASE,
)
_PROBLEM_MAX = 200


def stated_problem(text: str, html: str = "", asked: Sequence[str] = ()) -> str:
    """The customer's own statement of the problem: the first sentence of what they wrote this
    time that is neither a greeting, a question nor a list item, and long enough to say
    something ("Our nightly export fails with error E42 since this morning."). '' when none,
    or when one of the points ``asked`` already says it."""
    problem = _first_statement(text, html)
    return "" if any(problem in p for p in asked) else problem


def _first_statement(text: str, html: str) -> str:
    for line in new_text(text, html).splitlines():
        if not line.strip() or _ITEM.match(line):
            continue
        for sentence in _SENTENCE_END.split(line.strip()):
            sentence = " ".join(sentence.split())
            if _GREETING.match(sentence):  # "Hi team, the dashboard is blank."
                sentence = sentence.partition(",")[2].strip()
                sentence = sentence[:1].upper() + sentence[1:]
            if not sentence or _QUESTION.search(sentence) or _COURTESY.search(sentence):
                continue
            if len(sentence.split()) < 3 or sentence.endswith(":"):
                continue
            if len(sentence) > _PROBLEM_MAX:
                sentence = sentence[: _PROBLEM_MAX - 1].rstrip() + "\u2026"
            return sentence
    return ""


_COURTESY = re.compile(
    r"\b(thanks?|thank you|thx|cheers|many thanks|that (fixed|solved|did) it|works( now)?|"
    r"danke|merci|gracias|grazie|bedankt|obrigad[oa])\b",
    re.IGNORECASE,
)
_COURTESY_MAX = 300  # characters of new text: a courtesy is short


def is_courtesy(text: str, html: str = "") -> bool:
    """A short thank-you that asks nothing ("Thanks, that fixed it!"): no reason to reopen."""
    said = new_text(text, html)
    return (
        len(said) <= _COURTESY_MAX
        and _COURTESY.search(said) is not None
        and not extract(text, html)
    )


def key(point: str) -> str:
    return " ".join(re.sub(r"[^\w?？]+", " ", point.lower()).split())
