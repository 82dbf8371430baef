"""easytune_core.interop: files of the wider text-to-motion field (published checkpoints,
evaluators, vocabularies), read without executing anything they contain."""
