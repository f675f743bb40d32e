"""The tone rules on the labelled set (tests/data/tone.toml): ``python -m tests.tone`` prints
precision and recall, and the sentences the rules get wrong."""

from __future__ import annotations

import tomllib
from pathlib import Path

from gateway.mail import tone

SET = tomllib.loads((Path(__file__).parent / "data" / "tone.toml").read_text(encoding="utf-8"))


def scores(rule: str) -> tuple[float, float, list[str]]:
    """(precision, recall, wrong sentences) of the ``rule`` ("urgent" or "concern")."""
    positive, negative = (
        (SET["urgent"], SET["not_urgent"])
        if rule == "urgent"
        else (SET["concern"], SET["no_concern"])
    )

    def fires(sentence: str) -> bool:
        return bool(tone.urgency("", sentence) if rule == "urgent" else tone.concern(sentence))

    hits = [s for s in positive if fires(s)]
    false = [s for s in negative if fires(s)]
    precision = len(hits) / (len(hits) + len(false)) if hits or false else 1.0
    recall = len(hits) / len(positive)
    return precision, recall, [s for s in positive if s not in hits] + false


def main() -> None:
    print(f"{'rule':8} {'sentences':>9} {'precision':>9} {'recall':>7}")
    for rule in ("urgent", "concern"):
        p, r, wrong = scores(rule)
        size = len(SET[rule]) + len(SET["not_urgent" if rule == "urgent" else "no_concern"])
        print(f"{rule:8} {size:>9} {p:>9.2f} {r:>7.2f}")
        for s in wrong:
            print(f"    wrong: {s}")


if __name__ == "__main__":
    main()
