"""newscorpus: raw news articles to a clean, annotated, validated Hugging Face dataset."""

__version__ = "0.1.0"

#: Version of the JSON Schemas in ``schema/`` that this release reads and writes.
SCHEMA_VERSION = "1.1.0"

#: Version of the converter's output (:mod:`newscorpus.convert`); bump it whenever a record can come out different.
#: Here, not in the converter, so a build's main process names it without importing the converter (60 ms), which
#: only the workers run.
CONVERTER_VERSION = "1.0.0"
