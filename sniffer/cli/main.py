"""The ``callsift`` command: one entry point, one subcommand per service."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from sniffer.cli import analyze, sniff

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callsift",
        description="Passive VoIP monitoring: SIP calls, RTP quality, per-call pcaps.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    analyze.add_parser(sub)
    sniff.add_parser(sub)
    _add_optional(sub)
    return parser


def _add_optional(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Subcommands of the other services."""
    from db.cli import add_parser as add_db_parser

    add_db_parser(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        rc: int = args.run(args)
    except KeyboardInterrupt:
        print("callsift: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
