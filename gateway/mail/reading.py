"""What a person newly wrote in a reply, from any mail client (pure).

A reply is read as lines, each either the writer's own or quoted. Quoted are the lines a client
prefixed with ``>`` (plain text) or put inside a quoting element (HTML: ``blockquote``, Gmail's
``gmail_quote``, Yahoo's and AOL's quote blocks, Thunderbird's ``moz-cite-prefix``), the
attribution line above a quote ("On … wrote:", in the languages clients write it, over up to three
lines), and a hard-wrapped quote's continuation (Android's Gmail leaves the wrap unquoted).

Where a client puts a copy of the earlier mail *unquoted* (Outlook's ``From:/Sent:`` block in any
language, ``-----Original Message-----``, a line of underscores, forwarded-message separators, our
own banner, and in HTML ``divRplyFwdMsg``, ``appendonsend``, a top-bordered header ``div`` and
Hotmail's ``stopSpelling`` rule) everything from there on is the copy: never the writer's words,
never an inline answer, never a command.

Whatever is left unquoted is the writer's: above the quote (top-posted), below it (bottom-posted)
or between its lines (interleaved). The text part is read when there is one, else the HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
from typing import Self

MARKER = "Reply above this line"  # the banner at the top of every SE copy


@dataclass(frozen=True)
class Line:
    text: str
    quoted: bool


_CUT = "\x00cut"  # where an HTML copy starts (an element, not a text line)

_LABEL = (
    r"from|von|de|da|van|od|от|från|fra|lähettäjä|feladó|差出人|发件人|kimden|"
    r"sent|date|to|subject|cc|gesendet|datum|an|betreff|envoyé|à|objet|enviado|fecha|para|"
    r"asunto|inviato|data|a|oggetto|verzonden|aan|onderwerp|wysłano|do|temat|отправлено|дата|"
    r"кому|тема|skickat|till|ämne|sendt|til|emne|送信日時|宛先|件名|发送时间|收件人|主题|"
    r"enviada|assunto|envoyé le|reply-to|antwort an"
)
_HEADER = re.compile(rf"^\s*\**\s*(?:{_LABEL})\s*:\s*\**", re.IGNORECASE)
_FROM = re.compile(
    r"^\s*\**\s*(?:from|von|de|da|van|od|от|från|fra|lähettäjä|feladó|差出人|发件人|kimden)"
    r"\s*:\s*\**\s*\S",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|ursprüngliche nachricht|originalnachricht|"
    r"message d'origine|mensaje original|messaggio originale|oorspronkelijk bericht|"
    r"originele bericht|исходное сообщение|wiadomość oryginalna|oryginalna wiadomość|"
    r"mensagem original|originalmeddelande|alkuperäinen viesti|元のメッセージ|原始邮件|"
    r"forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|"
    r"messaggio inoltrato|doorgestuurd bericht|wiadomość przekazana|пересылаемое сообщение|"
    r"mensagem encaminhada|転送されたメッセージ)\s*-{2,}|_{10,}|begin forwarded message:|"
    r"anfang der weitergeleiteten nachricht:|début du message réexpédié :?)\s*$",
    re.IGNORECASE,
)
_WROTE = re.compile(
    r"(?:wrote|writes|schrieb|a écrit|écrit|escribió|escreveu|ha scritto|scrisse|schreef|"
    r"napisał\(a\)|napisała|napisał|написал\(а\)|написала|написал|skrev|kirjoitti|írta|"
    r"napsal|yazdı|έγραψε|書きました|のメッセージ|写道|작성)\s*[:：]?\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_START = re.compile(
    r"^\s*(?:on|am|le|el|il|op|em|w dniu|dnia|в|den|på|el día)\b", re.IGNORECASE
)
_HINT = re.compile(r"@|\d{1,2}[:.]\d{2}|\b(?:19|20)\d\d\b")
_SENTENCE_END = re.compile(r"[.?!:;)\]\"'。？！]\s*$")


def lines_of(text: str, html: str = "") -> list[Line]:
    """The reply's lines as the client wrote them: the text part, else the HTML read as text."""
    if text.strip():
        return [
            Line(raw.rstrip(), raw.lstrip().startswith(">"))
            for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        ]
    if html.strip():
        return _HtmlLines.read(html)
    return []


def own_lines(lines: list[Line]) -> list[Line]:
    """The lines before any unquoted copy of an earlier mail, with attribution lines and wrapped
    quote continuations marked quoted (see the module docstring)."""
    cut = _cut(lines)
    kept = list(lines[:cut])
    for n, line in enumerate(kept):
        if line.quoted or not line.text.strip():
            continue
        previous = kept[n - 1] if n else None
        following = kept[n + 1] if n + 1 < len(kept) else None
        if (
            previous is not None
            and previous.quoted
            and len(_unquote(previous.text)) >= 50
            and not _SENTENCE_END.search(previous.text)
            and line.text.lstrip()[:1].islower()
            and (following is None or following.quoted)
        ):
            kept[n] = Line(line.text, True)  # the wrap of a long quoted line
    for start, end in _attributions(kept):
        for n in range(start, end):
            kept[n] = Line(kept[n].text, True)
    return kept


def new_words(lines: list[Line]) -> str:
    """The unquoted lines of ``lines`` as text: blank runs made one, trailing spaces dropped."""
    out: list[str] = []
    for line in lines:
        if line.quoted:
            if out and out[-1]:
                out.append("")  # a quote between two passages of the writer's keeps them apart
            continue
        text = line.text.rstrip()
        if not text.strip():
            if out and out[-1]:
                out.append("")
            continue
        out.append(text)
    return "\n".join(out).strip("\n")


def read(text: str, html: str = "") -> str:
    """What the writer wrote this time (see the module docstring)."""
    return new_words(own_lines(lines_of(text, html)))


def _unquote(text: str) -> str:
    return text.lstrip().lstrip(">").strip()


def _cut(lines: list[Line]) -> int:
    """Where an unquoted copy of an earlier mail starts (len(lines) when none)."""
    for n, line in enumerate(lines):
        if line.quoted:
            continue
        text = line.text
        if text == _CUT or MARKER in text or _SEPARATOR.match(text):
            return n
        if _FROM.match(text) or _HEADER.match(text):
            labels = [_HEADER.match(x.text) is not None for x in _next_lines(lines, n, 5)]
            if _FROM.match(text) and sum(labels) >= 1:
                return n
            if any(_FROM.match(x.text) for x in _next_lines(lines, n, 5)) and sum(labels) >= 2:
                return n  # Hotmail's block starts with Date:
        if _strong_attribution(lines, n):
            after = _next_lines(lines, n + _attribution_length(lines, n) - 1, 1)
            if after and not after[0].quoted:
                return n  # "On … wrote:" above a copy nobody quoted
    return len(lines)


def _next_lines(lines: list[Line], n: int, count: int) -> list[Line]:
    """The next ``count`` non-blank lines after ``n``."""
    out = []
    for line in lines[n + 1 :]:
        if line.text.strip():
            out.append(line)
            if len(out) == count:
                break
    return out


def _strong_attribution(lines: list[Line], n: int) -> bool:
    text = lines[n].text
    if not _ATTRIBUTION_START.match(text):
        return False
    return _attribution_length(lines, n) > 0


def _attribution_length(lines: list[Line], n: int) -> int:
    """How many lines from ``n`` make an "On … wrote:" line (clients wrap it), 0 if none."""
    joined = ""
    for k in range(n, min(n + 3, len(lines))):
        if lines[k].quoted or not lines[k].text.strip():
            return 0
        joined = f"{joined} {lines[k].text.strip()}".strip()
        if len(joined) > 300:
            return 0
        if _WROTE.search(joined):
            return k - n + 1
    return 0


def _attributions(lines: list[Line]) -> list[tuple[int, int]]:
    """(start, end) of each attribution: the unquoted lines (at most three, no blank between)
    right above a quoted block that end with a colon and name a date, an address or "wrote"."""
    found = []
    for n, line in enumerate(lines):
        if not line.quoted or (n and lines[n - 1].quoted):
            continue
        end = n
        while end > 0 and not lines[end - 1].text.strip() and not lines[end - 1].quoted:
            end -= 1
        start = end
        while start > 0 and end - start < 3:
            above = lines[start - 1]
            if above.quoted or not above.text.strip():
                break
            start -= 1
        for s in range(start, end):  # the shortest block that reads as an attribution
            joined = " ".join(x.text.strip() for x in lines[s:end])
            wrote = _WROTE.search(joined) is not None
            colon = joined.endswith((":", "："))
            if (colon and (wrote or _HINT.search(joined))) or (
                wrote and _ATTRIBUTION_START.match(joined)
            ):
                found.append((s, end))
                break
    return found


_BLOCKS = frozenset(
    {
        "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol",
        "table", "pre", "section", "article", "header", "footer", "dd", "dt", "center", "hr",
        "dl", "address", "tbody", "thead",
    }
)  # fmt: skip
_VOID = frozenset({"br", "hr", "img", "meta", "input", "link", "base", "col", "wbr", "area"})
_SKIP = frozenset({"script", "style", "head", "title"})
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "gmail_attr")
_CUT_IDS = ("divrplyfwdmsg", "appendonsend", "stopspelling", "zwchr")
_CUT_CLASSES = ("moz-forward-container", "outlookmessageheader")


def _as_read(lines: list[Line]) -> list[Line]:
    """HTML's lines as a reader sees them: a line a client wrote as ``> text`` (Hotmail quotes
    so in HTML too) is quoted."""
    out = []
    for x in lines:
        text = x.text.replace("\xa0", " ").rstrip()
        out.append(Line(text, x.quoted or text.lstrip().startswith(">")))
    return out


class _HtmlLines(HTMLParser):
    """HTML to lines, each marked quoted or not; a copy's start is one :data:`_CUT` line."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[Line] = []
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, opens a quote, a paragraph)
        self.buf: list[str] = []
        self.buf_quoted = False
        self.skip = 0
        self.pre = 0
        self.cut = False

    @classmethod
    def read(cls, html: str) -> list[Line]:
        return _as_read(cls.parsed(html).lines)

    @classmethod
    def parsed(cls, html: str) -> Self:
        parser = cls()
        parser.feed(html)
        parser.close()
        parser._flush()
        return parser

    @property
    def quoting(self) -> bool:
        return any(q for _, q, _ in self.stack)

    def _flush(self, empty: bool = False) -> None:
        text = "".join(self.buf)
        if text.strip() or empty:
            self.lines.append(Line(text.strip(" \t\n"), self.buf_quoted))
        self.buf = []

    def _blank(self) -> None:
        self._flush()
        if self.lines and self.lines[-1].text:
            self.lines.append(Line("", self.quoting))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.cut:
            return
        a = {k: (v or "") for k, v in attrs}
        ident, classes = a.get("id", "").lower(), a.get("class", "").lower()
        style = a.get("style", "").lower().replace(" ", "")
        if (
            any(ident.endswith(i) for i in _CUT_IDS)
            or any(c in classes for c in _CUT_CLASSES)
            or (tag == "div" and "border-top" in style and "solid" in style)
        ):
            self._flush()
            self.lines.append(Line(_CUT, False))
            self.cut = True
            return
        if tag in _SKIP:
            self.skip += 1
        if tag == "pre":
            self.pre += 1
        if tag == "br":
            self._flush(empty=True)
            return
        if tag in _BLOCKS:
            self._flush()
        paragraph = tag == "p" and "msonormal" not in classes  # Outlook: a p a line
        if paragraph:
            self._blank()
        if tag in _VOID:
            return
        quote = tag == "blockquote" or any(c in classes for c in _QUOTE_CLASSES)
        quote = quote or ident.startswith("aolmsgpart")
        self.stack.append((tag, quote, paragraph))

    def handle_endtag(self, tag: str) -> None:
        if self.cut or tag in _VOID:
            return
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in _BLOCKS:
            self._flush()
        paragraph = False
        if any(t == tag for t, _, _ in self.stack):
            while self.stack:
                t, _, paragraph = self.stack.pop()
                if t == tag:
                    break
        if paragraph:
            self._blank()

    def handle_data(self, data: str) -> None:
        if self.cut or self.skip:
            return
        quoted = self.quoting
        if self.buf and "".join(self.buf).strip() and quoted != self.buf_quoted:
            self._flush()
        if not "".join(self.buf).strip():
            self.buf_quoted = quoted
        if self.pre:
            parts = data.split("\n")
            for k, part in enumerate(parts):
                if k:
                    self._flush(empty=True)
                    self.buf_quoted = quoted
                self.buf.append(part)
            return
        self.buf.append(re.sub(r"\s+", " ", data))


def own_html(html: str) -> str:
    """The writer's own part of an HTML reply, as HTML: the elements and text of
    :func:`own_lines`, without the quote, the attribution or the copy below (not yet sanitised:
    see :mod:`gateway.mail.richtext`)."""
    parser = _HtmlFragment.parsed(html)
    kept = own_lines(_as_read(parser.lines))
    own = {n for n, line in enumerate(kept) if not line.quoted}
    out = []
    for kind, n, token in parser.tokens:
        if n >= len(kept):
            break  # the copy of an earlier mail starts here
        if kind == "tag" or n in own:
            out.append(token)
    return "".join(out)


class _HtmlFragment(_HtmlLines):
    """:class:`_HtmlLines` that also keeps each tag and text outside a quote, with the line it
    belongs to, so the writer's own lines can be given back as HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: list[tuple[str, int, str]] = []  # ("tag" | "text", line, html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        super().handle_starttag(tag, attrs)
        if not (self.cut or self.skip or self.quoting):
            self.tokens.append(("tag", len(self.lines), self.get_starttag_text() or ""))

    def handle_endtag(self, tag: str) -> None:
        inside = self.cut or self.skip or self.quoting
        super().handle_endtag(tag)
        if not (inside or self.cut or self.skip or tag in _VOID):
            self.tokens.append(("tag", len(self.lines), f"</{tag}>"))

    def handle_data(self, data: str) -> None:
        super().handle_data(data)
        if self.cut or self.skip or self.quoting:
            return
        parts = data.split("\n") if self.pre else [data]
        for k, part in enumerate(parts):
            self.tokens.append(("text", len(self.lines) - (len(parts) - 1 - k), escape(part)))
