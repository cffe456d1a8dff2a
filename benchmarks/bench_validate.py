"""Schema validation speed: the reference validator (python-jsonschema) beside the jsonschema-rs fast path.

Generates annotation documents of realistic density (a 3-8 KB body, about 40
mentions and 10 quotes with cues) deterministically from a seed, then times
``schema_problems`` with the fast path off and on, and the whole per-document
check (``document_problems``: schema + spans + references) as ``newscorpus
validate`` runs it.  Prints one table: documents per second and speed-up.

usage:
  PYTHONPATH=src python benchmarks/bench_validate.py            # 2,000 documents
  PYTHONPATH=src python benchmarks/bench_validate.py --docs 20000 --seed 7
"""

from __future__ import annotations

import argparse
import random
import time

from newscorpus import SCHEMA_VERSION
from newscorpus.schemas import schema_problems
from newscorpus.spans import body_sha256, span
from newscorpus.validate import document_problems

NAMES = ["Sergei Lavrov", "Kim Jong Un", "Vladimir Putin", "Choe Son Hui", "Antony Blinken", "Yoon Suk Yeol", "KCNA", "the Kremlin"]
CUES = ["said", "told reporters", "added", "according to", "stressed"]
FILLER = (
    "The visit is expected to lay the groundwork for further talks between the two governments on trade, "
    "security and the situation on the peninsula, officials in both capitals said on condition of anonymity. "
)


def make_document(rng: random.Random, index: int) -> tuple[dict, str]:
    """One (annotation document, body) pair with about 40 mentions and 10 quotes."""
    parts: list[str] = []
    mentions_at: list[tuple[int, int, str]] = []
    quotes_at: list[tuple[int, int, int, int, int]] = []
    length = 0
    target = rng.randint(3000, 8000)
    while length < target:
        name = rng.choice(NAMES)
        cue = rng.choice(CUES)
        content = f'"We will continue to work together on issue number {rng.randint(1, 999)}"'
        sentence = f"{name} {cue} {content}. {FILLER[: rng.randint(40, len(FILLER))]}"
        m0 = length
        c0 = length + len(name) + 1
        q0 = c0 + len(cue) + 1
        mentions_at.append((m0, m0 + len(name), name))
        if len(quotes_at) < 10:
            quotes_at.append((len(mentions_at) - 1, c0, c0 + len(cue), q0, q0 + len(content)))
        extra = rng.choice(NAMES)
        sentence += f"{extra} was present. "
        e0 = length + len(sentence) - len(extra) - len(" was present. ")
        mentions_at.append((e0, e0 + len(extra), extra))
        parts.append(sentence)
        length += len(sentence)
    body = "".join(parts)
    entities = sorted({name for _, _, name in mentions_at})
    ids = {name: f"e-{k}" for k, name in enumerate(entities)}
    mentions = [
        {"id": f"m{k}", **span(body, s, e), "label": "PERSON", "entity": ids[name], "annotator": "ann-01", "origin": "human"}
        for k, (s, e, name) in enumerate(mentions_at)
    ]
    quotes = [
        {"id": f"q{k}", "type": "direct", "content": [span(body, q0, q1)], "cue": span(body, c0, c1),
         "speaker": f"m{m}", "annotator": "ann-01", "origin": "human"}
        for k, (m, c0, c1, q0, q1) in enumerate(quotes_at)
    ]
    doc = {
        "schemaVersion": SCHEMA_VERSION,
        "article": {"id": f"bench-{index}", "bodySha256": body_sha256(body)},
        "entities": [{"id": ids[name], "name": name, "label": "PERSON"} for name in entities],
        "mentions": mentions,
        "quotes": quotes,
    }
    return doc, body


def rate(docs: list[tuple[dict, str]], run) -> float:
    """Documents per second of ``run`` over ``docs`` (after one warm-up document)."""
    run(*docs[0])
    started = time.perf_counter()
    for doc, body in docs:
        run(doc, body)
    return len(docs) / (time.perf_counter() - started)


def main() -> None:
    """Generate, time, print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=2000, help="number of documents (default 2000)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    docs = [make_document(rng, i) for i in range(args.docs)]
    spans = sum(len(d["mentions"]) + 2 * len(d["quotes"]) for d, _ in docs) / len(docs)
    assert all(not document_problems(d, "x.json", b) for d, b in docs[:50]), "generated documents must be valid"

    reference = rate(docs, lambda d, b: list(schema_problems(d, "annotation", "x.json", fast=False)))
    fast = rate(docs, lambda d, b: list(schema_problems(d, "annotation", "x.json", fast=True)))
    whole = rate(docs, lambda d, b: document_problems(d, "x.json", b))
    print(f"{args.docs} annotation documents, {spans:.0f} spans each on average (seed {args.seed})")
    print(f"{'what':<44}{'docs/s':>12}{'vs reference':>14}")
    print(f"{'schema, python-jsonschema (baseline)':<44}{reference:>12,.0f}{1.0:>13.1f}x")
    print(f"{'schema, jsonschema-rs fast path (ours)':<44}{fast:>12,.0f}{fast / reference:>13.1f}x")
    print(f"{'schema + span/reference checks (ours)':<44}{whole:>12,.0f}{whole / reference:>13.1f}x")


if __name__ == "__main__":
    main()
