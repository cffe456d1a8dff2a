"""Synthetic news corpus: raw files in the seed layouts and the generic one, with gold annotations.

The other benchmarks build on it.  Everything is a function of ``seed``: the
same ``(n, seed)`` writes the same bytes.  Each *story* is one agency report;
a share of stories is syndicated, i.e. republished by two to four outlets with
small edits (a dropped paragraph, another headline, other spelling), in the
layout of each outlet, as wire services are.  Bodies are about 3-8 KB of
paragraphs with subheadings; raw files carry the site chrome of their layout
(banners, related links, newsletters, copyright notices, captions, URL
lines).  Gold documents hold dozens of entity mentions (names, nominals,
pronouns, linked to corpus-wide entities) and about ten quotes (direct,
indirect, mixed; cue, speaker, addressee, channel), with ``sameAs`` links
between the versions of one quote in syndicated copies.

Offsets are computed against the body the converter contract promises
(paragraphs joined by a blank line), so a converter that keeps that contract
yields documents that validate cleanly.

::

    python benchmarks/synth.py OUT_DIR -n 10000 --seed 1     # writes OUT_DIR/corpus/...

    from synth import generate
    generate(tmp_path, 50, seed=7)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from newscorpus import SCHEMA_VERSION
from newscorpus.spans import body_sha256, span

#: Share of stories republished by several outlets.
WIRE_SHARE = 0.3
#: Share of articles with a gold annotation document.
ANNOTATED_SHARE = 0.9

_FIRST = ("Anna", "Sergei", "Maria", "John", "Li", "Fatima", "Pierre", "Olga", "Kenji", "Amara", "Carlos", "Ingrid",
          "Ahmed", "Yuki", "David", "Elena", "Tomasz", "Grace", "Rahul", "Chloé", "José", "Nadia", "Viktor", "Sun-hee",
          "Mehmet", "Lucía", "Oluwaseun", "Hans", "Priya", "Dmitri", "Aiko", "Samuel")
_LAST = ("Kowalski", "Lavrov", "Okafor", "Chen", "Haddad", "Dubois", "Petrova", "Tanaka", "Mensah", "Rivera",
         "Lindqvist", "Farouk", "Sato", "Miller", "Novak", "Brennan", "Singh", "Núñez", "Ivanova", "Kim", "Yilmaz",
         "García", "Adeyemi", "Schmidt", "Patel", "Sokolov", "Mori", "Osei", "Bauer", "Moreau", "Park", "Costa")
_ROLES = ("Foreign Minister", "Defence Minister", "President", "Prime Minister", "spokesman", "spokeswoman",
          "chief executive", "senior analyst", "ambassador", "central bank governor", "army chief", "senator")
_NOMINAL = {"Foreign Minister": "the minister", "Defence Minister": "the minister", "President": "the president",
            "Prime Minister": "the prime minister", "spokesman": "the spokesman", "spokeswoman": "the spokeswoman",
            "chief executive": "the executive", "senior analyst": "the analyst", "ambassador": "the envoy",
            "central bank governor": "the governor", "army chief": "the general", "senator": "the senator"}
_PLACES = (("Seoul", "South Korea"), ("Paris", "France"), ("Moscow", "Russia"), ("Washington", "United States"),
           ("Beijing", "China"), ("Tokyo", "Japan"), ("Nairobi", "Kenya"), ("Brasilia", "Brazil"), ("Berlin", "Germany"),
           ("New Delhi", "India"), ("Canberra", "Australia"), ("Ankara", "Turkey"), ("Lagos", "Nigeria"),
           ("Ottawa", "Canada"), ("Mexico City", "Mexico"), ("Jakarta", "Indonesia"), ("Cairo", "Egypt"),
           ("Warsaw", "Poland"), ("Kyiv", "Ukraine"), ("Pyongyang", "North Korea"))
_NORP = ("Russian", "French", "Chinese", "Japanese", "Kenyan", "Brazilian", "German", "Indian", "Australian",
         "Turkish", "Nigerian", "Canadian", "Mexican", "Indonesian", "Egyptian", "Polish", "Ukrainian", "Korean")
_ORGS = ("United Nations", "World Bank", "International Monetary Fund", "European Union", "NATO", "African Union",
         "World Health Organization", "Red Cross", "Amnesty International", "OPEC", "Interpol", "ASEAN",
         "Northrop Grumman", "Lockheed Martin", "Gazprom", "Reuters Foundation", "Space Media Network", "KCNA")
_WORDS = ("government", "officials", "talks", "agreement", "security", "economy", "energy", "supply", "military",
          "exercise", "border", "region", "policy", "relations", "sanctions", "report", "analysts", "market",
          "growth", "inflation", "investment", "summit", "delegation", "weapons", "shipments", "infrastructure",
          "satellite", "launch", "programme", "budget", "parliament", "election", "coalition", "protest", "court",
          "ruling", "investigation", "drought", "harvest", "prices", "exports", "imports", "pipeline", "network",
          "negotiations", "ceasefire", "troops", "aid", "refugees", "hospital", "schools", "reform", "tax",
          "contract", "technology", "research", "climate", "emissions", "storm", "floods", "rescue", "crews")
_ADJ = ("new", "strategic", "dangerous", "record", "joint", "senior", "regional", "national", "foreign", "major",
        "unprecedented", "fragile", "long-term", "urgent", "significant", "controversial", "annual", "key")
_VERBS = ("announced", "rejected", "approved", "criticised", "welcomed", "delayed", "expanded", "signed", "launched",
          "suspended", "reviewed", "confirmed", "denied", "backed", "questioned", "proposed", "completed")
_CUES = ("said", "told reporters", "told journalists", "said in a statement", "added", "warned", "insisted",
         "stressed", "noted", "wrote")
_CHANNELS = ("according to state media", "according to local news agencies", "in a televised address",
             "in a post on social media", "at a press conference", "in an interview with public radio")
_AGENCIES = ("AFP", "UPI", "Reuters", "IANS", "XNA", "SPX", "AP")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS_LONG = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December")
_SPACEWAR_SITES = (("SpaceWar.com", "Military Space News", ("NUKEWARS", "SUPERPOWERS", "MISSILE DEFENSE")),
                   ("SpaceDaily", "Space Industry and Business News", ("SPACE TRAVEL", "LAUNCH PAD")),
                   ("TerraDaily", "Earth Science News", ("CLIMATE SCIENCE", "FLOOD WORLD")))
_GENERIC_OUTLETS = ("Global Post Online", "The Daily Chronicle", "Harbour City Herald", "Eastern Wire Review")
_SPELLING = (("defence", "defense"), ("programme", "program"), ("criticised", "criticized"), ("kilometres", "kilometers"))


@dataclass
class Paragraph:
    """A body paragraph under construction: text plus annotations with paragraph-relative offsets."""

    text: str = ""
    role: str = "text"
    key: int = 0
    mentions: list[dict] = field(default_factory=list)
    quotes: list[dict] = field(default_factory=list)

    def add(self, text: str) -> tuple[int, int]:
        """Append ``text``; return its (start, end) within the paragraph."""
        start = len(self.text)
        self.text += text
        return start, len(self.text)

    def mention(self, text: str, entity: "Entity", kind: str = "name") -> int:
        """Append a mention of ``entity``; return its index in ``mentions``."""
        start, end = self.add(text)
        self.mentions.append({"start": start, "end": end, "entity": entity, "kind": kind})
        return len(self.mentions) - 1


@dataclass(frozen=True)
class Entity:
    """A corpus-wide entity: the id, name, label and Wikidata id are functions of the name and label."""

    name: str
    label: str

    @property
    def id(self) -> str:
        slug = "".join(c if c.isascii() and c.isalnum() else "-" for c in self.name.lower()).strip("-")
        return f"{self.label.lower()}-{'-'.join(filter(None, slug.split('-')))}"[:100]

    @property
    def wikidata(self) -> str | None:
        digest = int(hashlib.sha256(self.id.encode()).hexdigest()[:8], 16)
        return f"Q{digest % 9_000_000 + 1000}" if digest % 3 else None


def _sentence(rng: random.Random, words: int) -> str:
    parts = [rng.choice(_ADJ) if i % 3 == 1 else rng.choice(_WORDS) for i in range(words)]
    parts.insert(rng.randrange(1, words), rng.choice(_VERBS))
    return " ".join(parts)


def _filler(rng: random.Random) -> str:
    text = _sentence(rng, rng.randint(8, 16))
    return text[0].upper() + text[1:] + "."


@dataclass
class Story:
    """One agency report: cast, place, date and paragraphs (annotated)."""

    headline: str
    agency: str
    place: str
    day: date
    paragraphs: list[Paragraph]


def _person(rng: random.Random) -> tuple[Entity, str]:
    return Entity(f"{rng.choice(_FIRST)} {rng.choice(_LAST)}", "PERSON"), rng.choice(_ROLES)


def _story(rng: random.Random) -> Story:
    place, country = rng.choice(_PLACES)
    cast = [_person(rng) for _ in range(rng.randint(3, 5))]
    countries = [Entity(country, "GPE")] + [Entity(c, "GPE") for _, c in rng.sample(_PLACES, 2)]
    orgs = [Entity(o, "ORG") for o in rng.sample(_ORGS, 2)]
    day = date(2022, 1, 1) + timedelta(days=rng.randrange(3 * 365))
    target = rng.randint(3000, 7600)
    paragraphs: list[Paragraph] = []
    size = 0
    introduced: set[str] = set()
    while size < target:
        if paragraphs and len(paragraphs) % 5 == 0:
            head = Paragraph(role="subheading", key=len(paragraphs))
            head.add(f"{rng.choice(_ADJ).capitalize()} {rng.choice(_WORDS)}")
            paragraphs.append(head)
        paragraph = _paragraph(rng, cast, countries, orgs, introduced, day)
        paragraph.key = len(paragraphs)
        paragraphs.append(paragraph)
        size += len(paragraph.text) + 2
    person = cast[0][0]
    headline = f"{person.name.split()[-1]} {rng.choice(_VERBS)} {rng.choice(_ADJ)} {rng.choice(_WORDS)} on {countries[0].name}"
    return Story(headline, rng.choice(_AGENCIES), place, day, paragraphs)


def _cap(text: str, sentence_start: bool) -> str:
    return text[0].upper() + text[1:] if sentence_start else text


def _speaker(p: Paragraph, rng: random.Random, person: Entity, role: str, introduced: set[str], sentence_start: bool) -> int:
    """Mention the speaker: full name with role at first, then name, nominal or pronoun."""
    if person.id not in introduced:
        introduced.add(person.id)
        p.add(_cap(role, sentence_start) + " ")
        return p.mention(person.name, person)
    choice = rng.random()
    if choice < 0.5:
        return p.mention(person.name.split()[-1], person)
    if choice < 0.75:
        return p.mention(_cap(_NOMINAL[role], sentence_start), person, "nominal")
    return p.mention(_cap("she" if rng.random() < 0.5 else "he", sentence_start), person, "pronoun")


def _quote(p: Paragraph, rng: random.Random, cast, introduced: set[str]) -> None:
    person, role = rng.choice(cast)
    kind = rng.choices(("direct", "indirect", "mixed"), (5, 3, 2))[0]
    content_text = _filler(rng)
    quote: dict = {"type": kind}
    if kind == "direct":
        p.add('"')
        first = p.add(content_text[:-1] + ",")
        p.add('" ')
        quote["content"] = [first]
        speaker = _speaker(p, rng, person, role, introduced, False)
        p.add(" ")
        quote["cue"] = p.add(rng.choice(_CUES))
    else:
        speaker = _speaker(p, rng, person, role, introduced, True)
        p.add(" ")
        quote["cue"] = p.add(rng.choice(("said", "told reporters", "warned", "insisted")))
        p.add(" that ")
        if kind == "mixed":
            start, _ = p.add(content_text[0].lower() + content_text[1:-1] + ' was "')
            _, end = p.add(f"{rng.choice(_ADJ)} and {rng.choice(_ADJ)}" + '"')
        else:
            start, end = p.add(content_text[0].lower() + content_text[1:-1])
        quote["content"] = [(start, end)]
    quote["speaker"] = speaker
    if rng.random() < 0.3:
        p.add(", ")
        quote["channel"] = p.add(rng.choice(_CHANNELS))
    if rng.random() < 0.25:
        other, other_role = rng.choice(cast)
        if other != person:
            p.add(" in remarks to ")
            quote["addressee"] = p.mention(other.name, other) if other.id in introduced else _speaker(p, rng, other, other_role, introduced, False)
    p.add(". ")
    p.quotes.append(quote)


def _paragraph(rng: random.Random, cast, countries, orgs, introduced: set[str], day: date) -> Paragraph:
    p = Paragraph()
    for _ in range(rng.randint(2, 4)):
        roll = rng.random()
        if roll < 0.27:
            _quote(p, rng, cast, introduced)
        elif roll < 0.5:
            p.add("The ")
            norp = Entity(rng.choice(_NORP), "NORP")
            p.mention(norp.name, norp)
            p.add(f" {rng.choice(_WORDS)} {rng.choice(_VERBS)} by ")
            org = rng.choice(orgs)
            p.mention(org.name, org)
            p.add(" on ")
            when = f"{_MONTHS_LONG[day.month - 1]} {day.day}"
            p.mention(when, Entity(when, "DATE"))
            p.add(" involved ")
            count = f"{rng.randint(2, 900):,}"
            p.mention(count, Entity(count, "CARDINAL"))
            p.add(f" {rng.choice(_WORDS)} in ")
            place = rng.choice(countries)
            p.mention(place.name, place)
            p.add(". ")
        else:
            p.add(_filler(rng) + " ")
    p.text = p.text.rstrip()
    return p


def _edited(story: Story, rng: random.Random) -> Story:
    """A syndicated copy: another headline, maybe a dropped paragraph, maybe another spelling.

    Paragraphs are copied whole (annotations move with them), so offsets stay right.
    """
    paragraphs = list(story.paragraphs)
    droppable = [i for i, p in enumerate(paragraphs) if p.role == "text" and i > 2]
    if droppable and rng.random() < 0.6:
        del paragraphs[rng.choice(droppable)]
    if rng.random() < 0.5:
        paragraphs = [_respelled(p) for p in paragraphs]
    words = story.headline.split()
    headline = " ".join(w.capitalize() for w in words) if rng.random() < 0.5 else story.headline
    return Story(headline, story.agency, story.place, story.day + timedelta(days=rng.randint(0, 1)), paragraphs)


def _respelled(p: Paragraph) -> Paragraph:
    """American spelling, only where no annotation's offsets would move (same length words only)."""
    text = p.text
    for uk, us in _SPELLING:
        if len(uk) == len(us):
            text = text.replace(uk, us)
    return Paragraph(text, p.role, p.key, p.mentions, p.quotes)


# ---------------------------------------------------------------- layouts


def _dateline(story: Story) -> str:
    return f"{story.place} ({story.agency}) {_MONTHS[story.day.month - 1]} {story.day.day:02d}, {story.day.year}"


def _render_spacewar(story: Story, rng: random.Random, site: tuple) -> str:
    name, banner, sections = site
    section = rng.choice(sections)
    lines = [banner, section, story.headline, story.headline, f"by {story.agency} Staff Writers" if rng.random() < 0.7 else f"by {rng.choice(_FIRST)} {rng.choice(_LAST)}", _dateline(story), ""]
    for p in story.paragraphs:
        lines += [f"- {p.text} -" if p.role == "subheading" else p.text, ""]
    lines += ["Related Links"] + [f"Learn about {rng.choice(_WORDS)} at {name}" for _ in range(rng.randint(2, 4))]
    lines += ["", "Subscribe Free To Our Daily Newsletters", "Tweet", "", "RELATED CONTENT",
              "The following news reports may link to other Space Media Network websites.", section]
    for _ in range(rng.randint(3, 6)):
        lines += [f"{rng.choice(_ADJ).capitalize()} {rng.choice(_WORDS)} {rng.choice(_VERBS)} in {rng.choice(_PLACES)[0]}", ""]
    lines += [section, "Subscribe Free To Our Daily Newsletters", "", "", "",
              f"The content herein, unless otherwise known to be public domain, are Copyright 1995-2024 - Space Media Network. "
              f"AFP, UPI and IANS news wire stories are copyright Agence France-Presse, United Press International and "
              f"Indo-Asia News Service. Additional copyrights may apply in whole or part to other bona fide parties."]
    return "\n".join(lines)


def _render_moscowtimes(story: Story, rng: random.Random, url: str) -> str:
    person = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    lines = [" ", "", "", story.headline, "", f"By {story.agency}", "",
             f"{_MONTHS_LONG[story.day.month - 1]} {story.day.day}, {story.day.year}", "", "", "",
             f"{person} in {story.place}. **{rng.choice(_ORGS)} Press Service**", ""]
    for i, p in enumerate(story.paragraphs):
        lines += [p.text, ""]
        if i == 3:
            lines += [f"Related article: <u>{rng.choice(_ADJ).capitalize()} {rng.choice(_WORDS)} in {rng.choice(_PLACES)[0]}</u>", ""]
    lines += ["Original url:", "", url]
    return "\n".join(lines)


def _render_generic(story: Story, rng: random.Random) -> str:
    lines = [story.headline]
    if rng.random() < 0.8:
        lines.append(f"By {rng.choice(_FIRST)} {rng.choice(_LAST)}")
    if rng.random() < 0.85:
        lines.append(_dateline(story))
    lines += [""]
    lines += [line for p in story.paragraphs for line in (p.text, "")]
    return "\n".join(lines)


# ---------------------------------------------------------------- documents


def _document(article_id: str, story: Story, annotator: str, links: dict[str, str] | None) -> tuple[dict, dict[str, str]]:
    """The gold document of one article, and the id of each quote by its story position (for sameAs)."""
    body = "\n\n".join(p.text for p in story.paragraphs)
    entities: dict[str, dict] = {}
    mentions: list[dict] = []
    quotes: list[dict] = []
    positions: dict[str, str] = {}
    base = 0
    for p in story.paragraphs:
        ids = []
        for m in p.mentions:
            entity = m["entity"]
            entities.setdefault(entity.id, {"id": entity.id, "name": entity.name, "label": entity.label,
                                            **({"wikidata": entity.wikidata} if entity.wikidata else {})})
            ident = f"m{len(mentions) + 1}"
            ids.append(ident)
            mentions.append({"id": ident, **span(body, base + m["start"], base + m["end"]), "label": entity.label,
                             "kind": m["kind"], "entity": entity.id, "annotator": annotator, "origin": "human"})
        for q in p.quotes:
            ident = f"q{len(quotes) + 1}"
            key = f"{p.key}:{p.quotes.index(q)}"
            positions[key] = ident
            quote = {
                "id": ident, "type": q["type"],
                "content": [span(body, base + s, base + e) for s, e in q["content"]],
                "cue": span(body, base + q["cue"][0], base + q["cue"][1]),
                "speaker": ids[q["speaker"]],
                "addressee": ids[q["addressee"]] if "addressee" in q else None,
                "channel": span(body, base + q["channel"][0], base + q["channel"][1]) if "channel" in q else None,
                "annotator": annotator, "origin": "human",
            }
            if links and key in links:
                quote["sameAs"] = [{"article": links["article"], "quote": links[key]}]
            quotes.append(quote)
        base += len(p.text) + 2
    doc = {
        "schemaVersion": SCHEMA_VERSION,
        "article": {"id": article_id, "bodySha256": body_sha256(body)},
        "entities": sorted(entities.values(), key=lambda e: e["id"]),
        "mentions": mentions,
        "quotes": quotes,
    }
    return doc, positions


# ---------------------------------------------------------------- putting it together


def _copies(seed: int, story_index: int) -> int:
    rng = random.Random(f"{seed}:copies:{story_index}")
    return rng.randint(2, 4) if rng.random() < WIRE_SHARE else 1


def plan(n: int, seed: int) -> list[tuple[int, int, int]]:
    """(story index, first article index, number of copies) for stories until ``n`` articles."""
    stories, index, story = [], 0, 0
    while index < n:
        copies = min(_copies(seed, story), n - index)
        stories.append((story, index, copies))
        index += copies
        story += 1
    return stories


def _write_story(root: Path, seed: int, story_index: int, first: int, copies: int) -> list[str]:
    """Write the raw files and gold documents of one story; return its manifest lines."""
    rng = random.Random(f"{seed}:story:{story_index}")
    story = _story(rng)
    manifest = []
    links: dict[str, str] | None = None
    for copy in range(copies):
        version = story if copy == 0 else _edited(story, rng)
        layout = rng.choices(("spacewar", "moscowtimes", "generic"), (4, 3, 3))[0]
        index = first + copy
        digest = hashlib.sha256(f"{seed}:{index}".encode()).hexdigest()
        if layout == "spacewar":
            site = rng.choice(_SPACEWAR_SITES)
            outlet = site[0]
        elif layout == "moscowtimes":
            outlet = "The Moscow Times"
        else:
            outlet = rng.choice(_GENERIC_OUTLETS)
        slug = "".join(c for c in outlet.lower() if c.isalnum())[:20]
        article_id = f"{slug}-{version.day.isoformat()}-{digest[:8]}"
        if layout == "moscowtimes":  # the outlet's real URL shape, which its parser recognises
            url = f"https://www.themoscowtimes.com/{version.day:%Y/%m/%d}/story-a{int(digest[:8], 16) % 100000}"
        else:
            url = f"https://www.{slug}.example/{version.day.year}/{version.day.month:02d}/{digest[:12]}"
        if layout == "spacewar":
            raw = _render_spacewar(version, rng, site)
        elif layout == "moscowtimes":
            raw = _render_moscowtimes(version, rng, url)
        else:
            raw = _render_generic(version, rng)
        data = raw.encode("utf-8")
        name = f"{index:07d}_{digest[:16]}.txt"
        (root / "raw" / name).write_bytes(data)
        manifest.append(json.dumps({
            "id": article_id, "file": name, "sha256": hashlib.sha256(data).hexdigest(), "outlet": outlet,
            "url": url if layout == "moscowtimes" else None,
            "rights": f"{version.agency} wire story as republished by {outlet}. Synthetic text generated for benchmarks; "
                      "no real article is reproduced.",
            # a contributor who knows the outlet has no dedicated parser says so, and gets no layout-unknown warning
            **({"layout": "generic"} if layout == "generic" else {}),
        }, ensure_ascii=False))
        if rng.random() < ANNOTATED_SHARE:
            doc, positions = _document(article_id, version, f"ann-{rng.randint(1, 6):02d}", links)
            (root / "annotations" / "gold" / f"{article_id}.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            if links is None:
                links = {"article": article_id, **positions}
    return manifest


def _write_stories(root: Path, seed: int, stories: list[tuple[int, int, int]]) -> list[str]:
    return [line for story in stories for line in _write_story(root, seed, *story)]


def generate(out_dir: Path, n: int, seed: int = 0, *, workers: int = 1) -> Path:
    """Write a synthetic corpus of ``n`` articles to ``out_dir/corpus``; return that directory.

    The corpus is assembled beside its target and renamed into place when complete.
    """
    out_dir = Path(out_dir)
    target = out_dir / "corpus"
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".corpus.", dir=out_dir))
    try:
        (staging / "raw").mkdir()
        (staging / "annotations" / "gold").mkdir(parents=True)
        stories = plan(n, seed)
        batches = [stories[i:i + 200] for i in range(0, len(stories), 200)]
        if workers > 1:
            with ProcessPoolExecutor(workers) as pool:
                chunks = list(pool.map(_write_stories, [staging] * len(batches), [seed] * len(batches), batches))
        else:
            chunks = [_write_stories(staging, seed, batch) for batch in batches]
        (staging / "raw" / "manifest.jsonl").write_text("".join(line + "\n" for chunk in chunks for line in chunk), encoding="utf-8")
        os.chmod(staging, 0o755)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def main(argv: list[str] | None = None) -> int:
    """``python benchmarks/synth.py OUT_DIR -n N --seed S``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("-n", type=int, default=1000, help="number of articles (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    corpus = generate(args.out_dir, args.n, args.seed, workers=args.workers)
    print(f"wrote {args.n} articles to {corpus}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
