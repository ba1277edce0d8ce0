"""`porchlight lab up|status|down`."""

from __future__ import annotations

import argparse


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_subparsers(dest="command", metavar="COMMAND")
