"""The SE's own HTML for the customer's HTML part: cut from the quote, sanitised, and checked
to say exactly what the text part says (pure).

The text part of a relayed answer is what every check reads (internal text, other tickets' keys,
substance); the HTML part may carry the SE's formatting (bold, lists, links, tables) only when its
words are those same words. Anything else (a client whose HTML and text disagree, a quote we could
not cut) falls back to the text, rendered by the template: never more words than were checked.
Sanitising is `nh3` (the Ammonia sanitiser): an allowlist of tags, no attributes but a link's
``href`` (http, https, mailto, and only an address the text part spells out: a link cannot carry
what the checks did not read), no styles (our colour is the template's), no images (files go as
attachments), no scripts or comments.
"""

from __future__ import annotations

import re

import nh3
from markupsafe import Markup

from gateway.mail import reading

TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "u", "s", "code", "pre", "kbd", "sub", "sup", "br",
        "p", "div", "span", "ul", "ol", "li", "dl", "dt", "dd", "h1", "h2", "h3", "h4",
        "table", "thead", "tbody", "tr", "th", "td", "hr",
    }
)  # fmt: skip
_URL = re.compile(r"<?\b(?:https?://|mailto:)[^\s>]*>?", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_BULLET = re.compile(r"^\s*(?:\d{1,3}[.)]|[*\-\u2022])\s+", re.MULTILINE)  # a text part's list


def own_html(html: str, text: str) -> Markup | None:
    """The writer's own part of ``html``, sanitised, when its words are exactly ``text``'s
    (links' addresses and list numbers aside: a text part spells them out); else None."""
    if not html.strip() or not text.strip():
        return None
    clean = nh3.clean(
        reading.own_html(html),
        tags=set(TAGS),
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        attribute_filter=lambda _tag, name, value: (
            value if name != "href" or value in text else None
        ),
    ).strip()
    if not clean or _words(reading.read("", clean)) != _words(text):
        return None
    return Markup(clean)  # sanitised above by nh3's allowlist


def _words(text: str) -> list[str]:
    return _WORD.findall(_BULLET.sub("", _URL.sub(" ", text)).casefold())
