"""Self-help: knowledge-base articles that match what the customer wrote.

An article's score is its keywords found in the mail, a keyword in the subject counting twice;
an article needs a score of 2 (two words of the body, or one of the subject) to be suggested,
so a single passing word suggests nothing. At most three, best first.
"""

from __future__ import annotations

import re

from gateway.core.config import Article

MIN_SCORE = 2


def _words(text: str) -> set[str]:
    return set(re.findall(r"[\w-]+", text.lower()))


def suggest(articles: list[Article], subject: str, text: str, limit: int = 3) -> list[Article]:
    in_subject, in_body = _words(subject), _words(text)
    scored = []
    for i, article in enumerate(articles):
        keys = {k.lower() for k in article.keywords}
        score = 2 * len(keys & in_subject) + len(keys & in_body)
        if score >= MIN_SCORE:
            scored.append((-score, i, article))
    return [a for _, _, a in sorted(scored)[:limit]]
