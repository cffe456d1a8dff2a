"""newscorpus: raw news articles to a clean, annotated, validated Hugging Face dataset."""

__version__ = "0.1.0"

#: Version of the JSON Schemas in ``schema/`` that this release reads and writes.
SCHEMA_VERSION = "1.1.0"
