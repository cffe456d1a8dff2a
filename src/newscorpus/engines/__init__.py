"""Engines that run the build's map stages beyond the cores of one machine (see :class:`newscorpus.pipeline.Mapper`)."""
