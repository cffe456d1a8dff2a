"""``python -m newscorpus`` runs the same CLI as the ``newscorpus`` command."""

from newscorpus.cli import run

run()
