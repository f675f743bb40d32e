"""One log line per event: ``event key=value ...`` with stable keys (never a secret)."""

from __future__ import annotations

import logging
import re

_UNSAFE = re.compile(r"[\s\"=]")


def _value(v: object) -> str:
    s = str(v).replace("\n", "\\n").replace("\r", "\\r")
    return f'"{s}"' if (_UNSAFE.search(s) or not s) else s


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: object) -> None:
    if logger.isEnabledFor(level):
        logger.log(level, "%s %s", name, " ".join(f"{k}={_value(v)}" for k, v in fields.items()))


def setup(level: str = "info") -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
