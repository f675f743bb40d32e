"""How well the gateway tells a mail's language (``scripts/bench-language``): the gateway's
reader (gateway/mail/langid.py) beside py3langid's 142-language model (what it used before), on
a labelled set built on this machine from the translations Debian installs
(/usr/share/locale/LANG/LC_MESSAGES/*.mo: each message's translation is text in LANG, its
original English); nothing is copied into the project.

For each language, of its sample: how often each reader is sure and right, sure and wrong
(a language we write, the costly error), or not sure (the team's language, or the mail client's
Content-Language hint); and each reader's load time and memory.
"""

from __future__ import annotations

import argparse
import gettext
import hashlib
import re
import resource
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from gateway.mail import langid

SHIPPED = ("en", "de", "es")
LOCALES = Path("/usr/share/locale")
_MARKUP = re.compile(r"%[-+ 0#]*\d*(?:\.\d+)?[a-zA-Z]|\{[^}]*\}|<[^>]*>|[_&]")


def _texts(catalog: Path, original: bool) -> Iterator[str]:
    try:
        with catalog.open("rb") as f:
            pairs = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
    except Exception:
        return
    for key, value in pairs.items():
        if not isinstance(key, str) or not key or not isinstance(value, str):
            continue
        text = _MARKUP.sub("", key if original else value).replace("\\n", " ").strip()
        if key != value and 30 <= len(text) <= 400 and len(text.split()) >= 5:
            yield text


def labelled(language: str, count: int, join: int = 1) -> list[str]:
    """Up to ``count`` texts in ``language``, the same ones every run; ``join`` messages each
    (3 make a paragraph, the length of a short mail)."""
    source = "de" if language == "en" else language
    texts: set[str] = set()
    for catalog in sorted((LOCALES / source / "LC_MESSAGES").glob("*.mo")):
        texts.update(_texts(catalog, original=language == "en"))
    ordered = sorted(texts, key=lambda t: hashlib.sha256(t.encode()).digest())
    return [". ".join(ordered[i : i + join]) for i in range(0, join * count, join)][
        : len(ordered) // join
    ]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def gateway_reader() -> Callable[[str], tuple[str, float]]:
    return langid.detect


def model_reader() -> Callable[[str], tuple[str, float]]:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)

    def detect(text: str) -> tuple[str, float]:
        found, probability = model.classify(text.strip()[: langid.TEXT_MAX])
        return str(found), float(probability)

    return detect


def main() -> int:
    p = argparse.ArgumentParser(description="language identification on a labelled set")
    p.add_argument("--per-language", type=int, default=400)
    p.add_argument("--join", type=int, default=1, help="messages a text (3: a short mail)")
    p.add_argument("--languages", default="en,de,es,fr,it,pt,nl,pl,sv,da,cs,tr,ro,fi,ca,hu,ru,ja")
    args = p.parse_args()
    readers: dict[str, Callable[[str], tuple[str, float]]] = {}
    for name, make in (("gateway", gateway_reader), ("py3langid", model_reader)):
        before, t0 = _rss_mb(), time.perf_counter()
        readers[name] = make()
        readers[name]("warm up: the first call builds what the reader needs")
        print(
            f"{name}: ready in {(time.perf_counter() - t0) * 1000:.0f} ms,"
            f" +{_rss_mb() - before:.0f} MB peak RSS"
        )
    print(f"sure means at least {langid.SURE:.0%}; a wrong language is one we write ({SHIPPED})")
    heads = "  ".join(f"{n + ' right/wrong/unsure':>29}" for n in readers)
    print(f"{'language':8} {'texts':>5}  {heads}")
    totals = {n: [0, 0, 0] for n in readers}
    spent = dict.fromkeys(readers, 0.0)
    for language in args.languages.split(","):
        texts = labelled(language, args.per_language, args.join)
        if not texts:
            continue
        cells = []
        for name, read in readers.items():
            right = wrong = unsure = 0
            t0 = time.perf_counter()
            for text in texts:
                found, sure = read(text)
                if sure < langid.SURE:
                    unsure += 1
                elif found == language:
                    right += 1
                elif found in SHIPPED:
                    wrong += 1
                else:
                    unsure += 1  # sure of another language we do not write: the team's language
            spent[name] += time.perf_counter() - t0
            for i, n in enumerate((right, wrong, unsure)):
                totals[name][i] += n
            cells.append(
                f"{right / len(texts):>9.1%} {wrong / len(texts):>9.1%} {unsure / len(texts):>9.1%}"
            )
        print(f"{language:8} {len(texts):>5}  " + "  ".join(cells))
    for name, (right, wrong, unsure) in totals.items():
        n = right + wrong + unsure
        print(
            f"{name}: {wrong} of {n} texts given a wrong language we write ({wrong / n:.2%});"
            f" {spent[name] / n * 1e6:.0f} µs a text"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
