"""The ``callsift`` command: one entry point, one subcommand per service."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from sniffer.cli import analyze, mirror_send, sniff
from sniffer.cli.errors import EXIT_HELP, EXIT_INTERRUPTED, EXIT_OK, errors_in, report
from sniffer.version import version_line


class _Version(argparse.Action):
    """``--version``: the line as is (argparse's own action would wrap it)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        print(version_line())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callsift",
        description="Passive VoIP monitoring: SIP calls, RTP quality, per-call pcaps.",
        epilog=EXIT_HELP,
    )
    parser.add_argument(
        "--version",
        action=_Version,
        help="print the version and the hot path it runs (compiled or pure Python), and exit",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    analyze.add_parser(sub)
    sniff.add_parser(sub)
    mirror_send.add_parser(sub)
    _add_optional(sub)
    return parser


def _add_optional(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Subcommands of the other services."""
    from api.cli import add_parsers as add_api_parsers
    from db.cli import add_parser as add_db_parser
    from gui.cli import add_parser as add_gui_parser

    add_db_parser(sub, epilog=EXIT_HELP)
    add_api_parsers(sub)
    add_gui_parser(sub)


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse; an unknown option is reported with the usage of the (sub)command it was given
    to, not the top-level one."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        owner: argparse.ArgumentParser = getattr(args, "cmd_parser", parser)
        owner.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parse(parser, argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        rc: int = args.run(args)
    except KeyboardInterrupt:
        print("callsift: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except BaseException as exc:  # the one place errors become lines and exit codes
        errors = errors_in(exc)
        if errors is None:
            raise
        return report(errors)
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
