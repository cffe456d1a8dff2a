"""One module per ``newscorpus`` subcommand: ``register(parser)`` and ``run(args)``."""
