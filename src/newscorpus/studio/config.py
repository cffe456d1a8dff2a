"""The Label Studio labeling config, generated from the JSON Schemas.

The config is the contract between :mod:`newscorpus.studio.tasks` and the
server, so every name used in task results is defined here once:

* ``<Text name="text" value="$text">`` shows the body as plain text (never
  ``<HyperText>``: article text is untrusted and HyperText renders HTML), with
  ``white-space: pre-wrap`` so paragraphs and runs of spaces stay visible.
* ``entity_label``: one ``<Label>`` per OntoNotes type in the schema's
  ``entityLabel`` enum (a mention region).
* ``quote_part``: ``Quote`` (a part of a quote's content), ``Cue`` and
  ``Channel`` (quote regions).
* ``entity``: a per-region text field holding the mention's entity id, so
  coreference survives the round trip; ``kind``: the mention kind;
  ``quote_type``: the quote type from the quote schema's ``type`` enum.
* ``<Relations>``: ``speaker``, ``addressee``, ``cue``, ``channel`` and
  ``part``, each drawn between a quote's first ``Quote`` region and the
  other region.
"""

from __future__ import annotations

from functools import cache
from xml.sax.saxutils import quoteattr

from newscorpus.schemas import entity_labels, load_schema

TEXT = "text"
ENTITY_LABEL = "entity_label"
QUOTE_PART = "quote_part"
ENTITY = "entity"
KIND = "kind"
QUOTE_TYPE = "quote_type"

#: quote_part label -> role of the region in a quote.
QUOTE_CONTENT, QUOTE_CUE, QUOTE_CHANNEL = "Quote", "Cue", "Channel"
QUOTE_LABELS = (QUOTE_CONTENT, QUOTE_CUE, QUOTE_CHANNEL)

#: Relation labels, all drawn from a quote's first content region.
SPEAKER, ADDRESSEE, CUE, CHANNEL, PART = "speaker", "addressee", "cue", "channel", "part"
RELATION_LABELS = (SPEAKER, ADDRESSEE, CUE, CHANNEL, PART)

#: Colours of the label buttons, cycled; entity colours are fixed by label order.
_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
    "#e6550d", "#31a354",
)


def quote_types() -> tuple[str, ...]:
    """The quote types of the quote schema's ``type`` enum."""
    return tuple(load_schema("quote")["properties"]["type"]["enum"])


def mention_kinds() -> tuple[str, ...]:
    """The mention kinds of the mention schema's ``kind`` enum."""
    return tuple(load_schema("mention")["properties"]["kind"]["enum"])


def _choices(name: str, values: tuple[str, ...], region_tag: str, hint: str) -> list[str]:
    lines = [
        f'  <Choices name="{name}" toName="{TEXT}" perRegion="true" choice="single" '
        f'visibleWhen="region-selected" whenTagName="{region_tag}" showInline="true" hint={quoteattr(hint)}>'
    ]
    lines += [f"    <Choice value={quoteattr(v)}/>" for v in values]
    lines.append("  </Choices>")
    return lines


@cache
def labeling_config() -> str:
    """The labeling config XML for newscorpus projects.

    >>> "<HyperText" in labeling_config(), "PERSON" in labeling_config()
    (False, True)
    """
    lines = [
        "<View>",
        # .htx-text is the Text tag's class in older releases; 1.23 renders lines in .lsf-richtext__*
        "  <Style>.htx-text, .lsf-richtext__container, .lsf-richtext__line{white-space:pre-wrap}</Style>",
        '  <Header value="$headline"/>',
        f'  <Labels name="{ENTITY_LABEL}" toName="{TEXT}" showInline="true">',
    ]
    lines += [
        f"    <Label value={quoteattr(label)} background={quoteattr(_COLOURS[i % len(_COLOURS)])}/>"
        for i, label in enumerate(entity_labels())
    ]
    lines += [
        "  </Labels>",
        f'  <Labels name="{QUOTE_PART}" toName="{TEXT}" showInline="true">',
        f'    <Label value="{QUOTE_CONTENT}" background="#ffd92f"/>',
        f'    <Label value="{QUOTE_CUE}" background="#a6d854"/>',
        f'    <Label value="{QUOTE_CHANNEL}" background="#b3b3b3"/>',
        "  </Labels>",
        f'  <Text name="{TEXT}" value="$text" granularity="symbol"/>',
        "  <Relations>",
    ]
    lines += [f"    <Relation value={quoteattr(label)}/>" for label in RELATION_LABELS]
    lines += [
        "  </Relations>",
        f'  <TextArea name="{ENTITY}" toName="{TEXT}" perRegion="true" editable="true" maxSubmissions="1" '
        f'rows="1" visibleWhen="region-selected" whenTagName="{ENTITY_LABEL}" '
        f'placeholder="entity id, e.g. sergei-lavrov (empty: a new entity)"/>',
    ]
    lines += _choices(KIND, mention_kinds(), ENTITY_LABEL, "mention kind (empty: name)")
    lines += _choices(QUOTE_TYPE, quote_types(), QUOTE_PART, "quote type, on the quote's first Quote region")
    lines.append("</View>")
    return "\n".join(lines)  # no final newline: the server strips it
