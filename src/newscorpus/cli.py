"""The ``newscorpus`` command: parses arguments, calls the library, renders the result.

Each subcommand is one module of :mod:`newscorpus.commands` with a docstring
(its help, with an example), ``register(parser)`` and ``run(args) -> int``.
Exit codes: 0 clean, 1 problems found, 2 usage error, 3 the operating system refused a file operation (a full
disk, a read-only file system, no permission: one line names the error and the path; every file is written
atomically, so each is as it was or whole), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import select
import sys
from types import ModuleType
from typing import Iterable

from newscorpus import __version__
from newscorpus.errors import UsageError, NewscorpusError


def command_names() -> list[str]:
    """Every subcommand's name (its module's, ``_`` as ``-``), without importing any."""
    import newscorpus.commands as package

    return sorted(info.name.replace("_", "-") for info in pkgutil.iter_modules(package.__path__) if not info.name.startswith("_"))


def commands(names: Iterable[str] | None = None) -> dict[str, ModuleType]:
    """Subcommand name -> module, for every module in :mod:`newscorpus.commands` (or those of ``names``)."""
    found = {}
    for name in command_names() if names is None else names:
        module = importlib.import_module(f"newscorpus.commands.{name.replace('-', '_')}")
        if hasattr(module, "register") and hasattr(module, "run"):
            found[name] = module
    return found


def _requested(argv: list[str]) -> str | None:
    """The subcommand ``argv`` runs, when it names one (the top level takes no option with a value)."""
    word = next((arg for arg in argv if not arg.startswith("-")), None)
    return word if word in command_names() else None


def parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser: for ``argv`` that runs a subcommand, with that subcommand only, since importing every
    command would import them all (``studio``'s Label Studio SDK alone takes 2 s, four times a one-file rebuild);
    else, for the overview (``--help``) or an unknown command, with all of them."""
    wanted = _requested(sys.argv[1:] if argv is None else argv)
    top = argparse.ArgumentParser(
        prog="newscorpus",
        description="Raw news articles to a clean, annotated, validated Hugging Face dataset.",
    )
    top.add_argument("--version", action="version", version=f"newscorpus {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in commands(None if wanted is None else [wanted]).items():
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


#: Exit code when the operating system refused a file operation (:class:`OSError`).
EXIT_OS_ERROR = 3


def os_error_message(error: OSError) -> str:
    """One line for an :class:`OSError`: what the system said and the path (both paths of a rename or link).

    >>> os_error_message(OSError(30, "Read-only file system", "/data/out.json"))
    'Read-only file system: /data/out.json'
    """
    reason = error.strerror or str(error)
    paths = [os.fsdecode(name) if isinstance(name, (str, bytes, os.PathLike)) else str(name)
             for name in (error.filename, error.filename2) if name is not None]
    return ": ".join([reason, " -> ".join(paths)]) if paths else reason


def _discard_stdout() -> None:
    """Point stdout at the null device: its reader went away, and flushing it at exit would fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # (no file descriptor: a captured or replaced stdout)
        pass


#: Exit code when stdout's reader went away (``newscorpus convert --out - ... | head``): a shell's for SIGPIPE.
EXIT_BROKEN_PIPE = 128 + 13


def _stdout_reader_gone() -> bool:
    """Whether stdout is a pipe or socket whose reading end is closed (the poll of its descriptor reports an error)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # (no descriptor, or no poll on this system)
        return False


def ends_without_teardown() -> None:
    """Let this process end without the interpreter's last garbage collections: at exit, after the exit handlers
    registered later (they run first), every object is put out of the collector's reach (``gc.freeze``), so those
    collections neither traverse the modules' objects nor free the ones in reference cycles (functions and their
    modules, classes): the system takes that memory back whole.  Objects outside cycles are still freed as the
    modules are cleared, output is flushed, files closed and exit handlers run, as before; only objects in cycles
    go unfinalized, which Python does not promise at exit anyway.  Those collections took 25 ms of a one-file
    rebuild's 0.65 s at 10,000 articles (docs/scale.md, *The process's end*).  For a process about to end: the
    command (:func:`run`), the benchmark's build stage; not for a library call in a longer-lived process."""
    import atexit
    import gc

    atexit.register(gc.freeze)


def run() -> int:
    """The ``newscorpus`` command and ``python -m newscorpus`` (which exit with what it returns): :func:`main`, the
    process to end without the interpreter's last collections (:func:`ends_without_teardown`)."""
    ends_without_teardown()
    return main()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    args = parser(argv).parse_args(argv)
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
    except OSError as error:  # (only the system's refusals: a programming error still shows its traceback)
        if isinstance(error, BrokenPipeError) and _stdout_reader_gone():
            _discard_stdout()  # as `cat` in a pipeline: the reader has what it wanted, nothing to say
            return EXIT_BROKEN_PIPE
        print(f"newscorpus {args.command}: error: {os_error_message(error)}", file=sys.stderr)
        return EXIT_OS_ERROR
