"""easytune_core.eval: evaluator model, HumanML3D-protocol metrics, evaluation protocol."""

from easytune_core.eval.metrics import (
    diversity,
    frechet_distance,
    mean_confidence,
    mm_dist,
    multimodality,
    r_precision,
)

__all__ = ["r_precision", "mm_dist", "frechet_distance", "diversity", "multimodality", "mean_confidence"]
