"""``python -m newscorpus`` runs the same CLI as the ``newscorpus`` command."""

import sys

from newscorpus.cli import run

sys.exit(run())
