"""Test scaffolding shared by the tests, the benchmarks' smoke modes and scripts/screenshots.py:
tiny stand-in checkpoints, an in-process app server, fake text encoders and tiny datasets.
Nothing in ``easytune_core`` or ``app`` imports it."""
