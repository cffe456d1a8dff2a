"""Re-anchor stale annotation documents to the current article bodies.

When the converter changes an article's body, the annotation documents made on
the old body are stale (`annotation-stale`): their offsets point at the wrong
text. rebase finds every span again from its text and its prefix/suffix
selector, rewrites start/end/text/prefix/suffix and the bodySha256, and writes
the document back (atomically). A document with a span that cannot be placed
without guessing is left untouched and the span is reported
(`rebase-unresolved`, `rebase-ambiguous`); spans whose text itself changed are
moved and reported as warnings (`rebase-text-changed`) for a person to check.

Bodies come from converting the corpus's raw files, or from article records
given with --article (as `newscorpus convert --out DIR` writes them).

Exit status: 0 when every document is current or was rebased, 1 when a
document could not be rebased (or, with --check, would change: each such document is reported as
`annotation-stale`), 2 on usage errors.

examples:
  newscorpus rebase                                   # every stale document of ./corpus
  newscorpus rebase corpus/annotations/gold/moscowtimes-2023-10-20-1e425f2c.json
  newscorpus rebase --check --format github           # CI: fail when a document is stale
  newscorpus rebase annotations/ --article build/articles/moscowtimes-2023-10-20-1e425f2c.json
"""

from __future__ import annotations

import argparse
import sys

from newscorpus.commands._documents import add_document_arguments, annotation_paths, article_bodies, rewrite_or_report
from newscorpus.corpus import CorpusLayout
from newscorpus.jsonio import load_json
from newscorpus.problems import Problem, errors
from newscorpus.rebase import rebase_document
from newscorpus.validate import article_id_of, with_lines
from newscorpus.report import render


def register(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``newscorpus rebase``."""
    add_document_arguments(parser, "write nothing; exit 1 when a document is stale")


def run(args: argparse.Namespace) -> int:
    """Rebase (or check) the documents and print the report; 0 when all are current."""
    layout = CorpusLayout(args.corpus)
    paths = annotation_paths(args.paths, layout)
    bodies, problems = article_bodies(args.article, layout)
    for path in paths:
        file = layout.rel(path)
        data, text, read_problems = load_json(path, file)
        if read_problems:
            problems.extend(read_problems)
            continue
        ident = article_id_of(data)
        if ident not in bodies:
            problems.append(Problem("article-unknown", file, "/article/id", f"no body for article {ident!r}: it is not in the corpus (or in --article)"))
            continue
        result = rebase_document(data, bodies[ident], file)
        found = list(result.problems)
        if result.document is not None and result.document is not data:
            counts = f"{result.moved} moved, {result.changed_text} with changed text"
            found += rewrite_or_report(args.check, path, file, result.document, Problem(
                "annotation-stale", file, "/article/bodySha256",
                f"the article body changed since these annotations were made; `newscorpus rebase` would re-anchor them ({counts})",
            ), f"rebased ({counts})")
        problems.extend(with_lines(found, text))
    sys.stdout.write(render(problems, args.format))
    return 1 if errors(problems) else 0
