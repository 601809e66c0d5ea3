"""Placeholder replaced by the eval implementation."""

import argparse

from bot.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir")


def run(args: argparse.Namespace, settings: Settings) -> int:
    raise ValueError("eval is not implemented yet")
