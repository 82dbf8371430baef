"""easytune_core.interop: reading other projects' checkpoints (restricted loading, conversion)."""
