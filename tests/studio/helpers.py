"""Articles and annotation documents for the studio tests, built in code."""

from __future__ import annotations

from pathlib import Path

from newscorpus import SCHEMA_VERSION
from newscorpus.corpus import CorpusLayout
from newscorpus.jsonio import dumps
from newscorpus.spans import body_sha256, span

#: A body with everything that breaks offsets: astral emoji, a ZWJ sequence with a skin tone, a flag,
#: combining marks, CRLF, markup-looking text and runs of spaces.
TRICKY_BODY = (
    "MOSCOW, Oct 19 (AFP) \U0001F600 Sergei Lavrov said: \u201cWe are ready & a > b.\u201d\r\n"
    "The <u>Kremlin</u> **confirmed** it.  Caf\u0065\u0301 owner \U0001F468\U0001F3FB\u200D\U0001F692 "
    "told reporters \U0001F1F0\U0001F1F5 that \u201cthe talks\u201d, he said, \u201cwent well\u201d.\r\n"
    "Kim Jong Un welcomed him, state media reported.\n"
)


def article(article_id: str, body: str, headline: str = "Lavrov in Pyongyang") -> dict:
    """An article dict as the converter makes it (the fields studio reads)."""
    return {"id": article_id, "body": {"text": body}, "headlines": [{"value": headline}]}


def find(body: str, text: str, nth: int = 0) -> tuple[int, int]:
    """(start, end) of the nth occurrence of ``text`` in ``body``."""
    start = -1
    for _ in range(nth + 1):
        start = body.index(text, start + 1)
    return start, start + len(text)


def mention(body: str, mid: str, text: str, label: str, entity: str, **extra) -> dict:
    """A human mention of ``text``."""
    return {"id": mid, **span(body, *find(body, text)), "label": label, "entity": entity,
            "annotator": "ann-01", "origin": "human", **extra}


def tricky_gold(article_id: str, body: str = TRICKY_BODY) -> dict:
    """A gold document over :data:`TRICKY_BODY` with every kind of item and field."""
    lavrov = mention(body, "m1", "Sergei Lavrov", "PERSON", "sergei-lavrov")
    kremlin = mention(body, "m2", "<u>Kremlin</u>", "ORG", "kremlin", kind="name")
    owner = mention(body, "m3", "Caf\u0065\u0301 owner \U0001F468\U0001F3FB\u200D\U0001F692", "PERSON", "cafe-owner", kind="nominal")
    he_at = find(body, "he said")[0]
    he = {"id": "m4", **span(body, he_at, he_at + 2), "label": "PERSON", "entity": "cafe-owner",
          "kind": "pronoun", "annotator": "ann-01", "origin": "human"}
    kim = {**mention(body, "m5", "Kim Jong Un", "PERSON", "kim-jong-un"),
           "annotator": "model-spacy", "origin": "model", "modelVersion": "spacy-3.7", "score": 0.91}
    q1 = {"id": "q1", "type": "direct", "content": [span(body, *find(body, "\u201cWe are ready & a > b.\u201d"))],
          "cue": span(body, *find(body, "said")), "speaker": "m1", "annotator": "ann-01", "origin": "human"}
    q2 = {"id": "q2", "type": "direct",
          "content": [span(body, *find(body, "\u201cthe talks\u201d")), span(body, *find(body, "\u201cwent well\u201d"))],
          "cue": span(body, *find(body, "he said")), "speaker": "m3", "addressee": None,
          "channel": None, "sameAs": [{"article": "other-article", "quote": "q9"}],
          "annotator": "ann-02", "origin": "human"}
    q3 = {"id": "q3", "type": "indirect", "content": [span(body, *find(body, "welcomed him"))], "cue": None,
          "speaker": "m5", "channel": span(body, *find(body, "state media reported")),
          "annotator": "model-spacy", "origin": "model", "modelVersion": "quotes-0.1", "score": 0.5}
    return {
        "schemaVersion": SCHEMA_VERSION,
        "article": {"id": article_id, "bodySha256": body_sha256(body)},
        "entities": [
            {"id": "sergei-lavrov", "name": "Sergei Lavrov", "label": "PERSON", "wikidata": "Q80882"},
            {"id": "kremlin", "name": "Moscow Kremlin", "label": "ORG"},
            {"id": "cafe-owner", "name": "the caf\u00e9 owner", "label": "PERSON"},
            {"id": "kim-jong-un", "name": "Kim Jong Un", "label": "PERSON"},
        ],
        "mentions": [lavrov, kremlin, owner, he, kim],
        "quotes": [q1, q2, q3],
    }


def write_gold(layout: CorpusLayout, doc: dict) -> Path:
    """Write a gold document the way newscorpus writes JSON."""
    path = layout.gold_dir / f"{doc['article']['id']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(doc), encoding="utf-8")
    return path


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` (relative path -> bytes)."""
    if not directory.exists():
        return {}
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}
