"""The examples in the docstrings of the converter modules, the build and the file-system edge are right."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "newscorpus.bylines", "newscorpus.datelines", "newscorpus.rawtext",
    "newscorpus.layouts.cleanup", "newscorpus.layouts.header", "newscorpus.layouts.page", "newscorpus.layouts.rules",
    "newscorpus.build", "newscorpus.cli", "newscorpus.errors", "newscorpus.jsonio", "newscorpus.studio.server",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
