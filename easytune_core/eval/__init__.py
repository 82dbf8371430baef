"""easytune_core.eval: independent evaluator, HumanML3D-protocol metrics, evaluation protocol."""

from easytune_core.eval.metrics import (
    diversity,
    frechet_distance,
    mean_confidence,
    mm_dist,
    multimodality,
    r_precision,
)
from easytune_core.eval.model import Evaluator, EvaluatorConfig, load_evaluator
from easytune_core.eval.protocol import evaluate_pipeline, format_table

__all__ = ["r_precision", "mm_dist", "frechet_distance", "diversity", "multimodality", "mean_confidence",
           "Evaluator", "EvaluatorConfig", "load_evaluator", "evaluate_pipeline", "format_table"]
