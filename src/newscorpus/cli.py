"""The ``newscorpus`` command: parses arguments, calls the library, renders the result.

Each subcommand is one module of :mod:`newscorpus.commands` with a docstring
(its help, with an example), ``register(parser)`` and ``run(args) -> int``.
Exit codes: 0 clean, 1 problems found, 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from types import ModuleType

from newscorpus import __version__
from newscorpus.errors import UsageError, NewscorpusError


def commands() -> dict[str, ModuleType]:
    """Subcommand name -> module, for every module in :mod:`newscorpus.commands`."""
    import newscorpus.commands as package

    found = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"newscorpus.commands.{info.name}")
        if hasattr(module, "register") and hasattr(module, "run"):
            found[info.name.replace("_", "-")] = module
    return found


def parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    top = argparse.ArgumentParser(
        prog="newscorpus",
        description="Raw news articles to a clean, annotated, validated Hugging Face dataset.",
    )
    top.add_argument("--version", action="version", version=f"newscorpus {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in commands().items():
        doc = (module.__doc__ or "").strip()
        summary_line = doc.splitlines()[0] if doc else name
        command = sub.add_parser(
            name,
            help=summary_line,
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.register(command)
        command.set_defaults(run=module.run)
    return top


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    args = parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UsageError as error:
        print(f"newscorpus {args.command}: {error}", file=sys.stderr)
        return 2
    except NewscorpusError as error:
        print(f"newscorpus {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
