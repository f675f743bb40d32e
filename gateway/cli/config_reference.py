"""``support-gateway config-reference``: every config key with its default, as Markdown (the
README's reference is this output)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.core.config import Config


def arguments(parser: argparse.ArgumentParser) -> None:
    pass


def main(args: argparse.Namespace, teams: list[tuple[str, Config]]) -> int:
    from gateway.core.config import reference_table

    print(reference_table())
    return 0
