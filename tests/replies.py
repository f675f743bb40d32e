"""The reply corpus (tests/data/replies): real mail-client replies from public test data, each
with the words its writer newly wrote. ``python -m tests.replies`` compares readers on it."""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from gateway.mail.inbound import parse

ROOT = Path(__file__).parent / "data" / "replies"


@dataclass(frozen=True)
class Reply:
    name: str
    text: str
    html: str
    words: str  # what the writer newly wrote

    @property
    def html_only(self) -> bool:
        return not self.text.strip()


def corpus() -> Iterator[Reply]:
    expected = tomllib.loads((ROOT / "expected.toml").read_text(encoding="utf-8"))
    for name, case in expected.items():
        path = ROOT / name
        if path.suffix == ".eml":
            msg = parse(path.read_bytes())
            text, html = msg.text, msg.html
        elif path.suffix == ".html":
            text, html = "", path.read_text(encoding="utf-8")
        else:
            text, html = path.read_text(encoding="utf-8"), ""
        yield Reply(name, text, html, case["words"])


def same(a: str, b: str) -> bool:
    """Equal as a reader sees them: trailing spaces and runs of blank lines aside."""

    def norm(s: str) -> str:
        s = "\n".join(line.rstrip() for line in s.replace("\xa0", " ").split("\n"))
        return re.sub(r"\n{3,}", "\n\n", s).strip()

    return norm(a) == norm(b)


def _readers() -> dict[str, Callable[[Reply], str]]:
    from gateway.mail import reading
    from gateway.mail.points import html_to_text

    def ours(r: Reply) -> str:
        return reading.read(r.text, r.html)

    def body(r: Reply) -> str:
        return r.text if r.text.strip() else html_to_text(r.html)

    found: dict[str, Callable[[Reply], str]] = {"support-gateway (reading)": ours}
    try:
        from mailparser_reply import EmailReplyParser

        def mpr(r: Reply) -> str:
            replies = EmailReplyParser(languages=["en", "de", "fr", "es", "it", "nl"]).read(body(r))
            return replies.replies[0].body if replies.replies else ""

        found["mail-parser-reply"] = mpr
    except ImportError:
        pass
    try:
        import quotequail  # type: ignore[import-not-found]

        def qq(r: Reply) -> str:
            if r.html_only:
                parts = quotequail.quote_html(r.html)
                return html_to_text("".join(h for own, h in parts if own))
            return "".join(t for own, t in quotequail.quote(r.text) if own)

        found["quotequail"] = qq
    except ImportError:
        pass
    try:
        from email_reply_parser import EmailReplyParser as Erp  # type: ignore[import-not-found]

        found["email-reply-parser"] = lambda r: Erp.parse_reply(body(r))
    except ImportError:
        pass
    return found


def main() -> None:
    cases = list(corpus())
    print(f"{len(cases)} real replies ({sum(r.html_only for r in cases)} HTML-only)\n")
    print(f"{'reader':28} {'exact':>7} {'HTML-only':>10}  missed")
    for label, reader in _readers().items():
        good, html_good, missed = 0, 0, []
        for r in cases:
            try:
                ok = same(reader(r), r.words)
            except Exception:
                ok = False
            good += ok
            html_good += ok and r.html_only
            if not ok:
                missed.append(r.name.split("/")[-1])
        html_total = sum(r.html_only for r in cases)
        print(
            f"{label:28} {good:>3}/{len(cases):<3} {html_good:>4}/{html_total:<5}"
            f"  {', '.join(missed[:6])}{' …' if len(missed) > 6 else ''}"
        )
    sys.exit(0)


if __name__ == "__main__":
    main()
