"""One way to name an evaluator on the command line: the project's own, or the field's T2M evaluator.

``--evaluator FOLDER`` is an evaluator checkpoint of this project (the offline default,
``assets/checkpoints/evaluator``); ``--evaluator t2m:DIR`` is Guo et al.'s text-motion matching
model (``easytune_core.eval.t2m``), which needs its GloVe vocabulary (``--glove DIR``). Both give
``embed_motions(features, lengths)`` and ``embed_texts(captions, tokens=None)``.

Only the T2M evaluator on HumanML3D (263-d, the dataset's own POS tags) gives numbers that can be
put beside published tables; the project's evaluator is trained on the project's data and its
numbers compare only with each other.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Optional

from easytune_core.cli_config import add_config_arguments

__all__ = ["EvaluatorOptions", "add_evaluator_arguments", "load_any_evaluator", "describe_evaluator", "T2M_PREFIX"]

T2M_PREFIX = "t2m:"


@dataclass
class EvaluatorOptions:
    """Which evaluator scores generated motions; the evaluate and select configs extend it."""

    evaluator: Optional[str] = None
    """Evaluator checkpoint folder (None: the shipped evaluator, the project's own), or t2m:DIR for Guo et al.'s T2M evaluator
    (DIR holds text_mot_match/model/finest.tar; see docs/bring_your_own.md)."""
    glove: Optional[str] = None
    """With t2m:DIR: the evaluator's glove/ folder (our_vab_*)."""
    pos_tagger: str = "auto"
    """With t2m:DIR: POS tagger for captions without dataset tokens: auto (spaCy if installed, else lexicon),
    spacy, spacy:PIPELINE, lexicon."""
    t2m_mean: Optional[str] = None
    """With t2m:DIR: the evaluator's mean.npy (default: found in DIR)."""
    t2m_std: Optional[str] = None
    """With t2m:DIR: the evaluator's std.npy (default: found in DIR)."""

    def load_evaluator(self, feature_dim: int | None = None, device=None):
        """The evaluator these options name (:func:`load_any_evaluator`)."""
        return load_any_evaluator(self.evaluator, glove=self.glove, feature_dim=feature_dim, device=device,
                                  tagger=self.pos_tagger, mean_path=self.t2m_mean, std_path=self.t2m_std)


def add_evaluator_arguments(p: argparse.ArgumentParser) -> None:
    """``--evaluator``, ``--glove``, ``--pos-tagger``, ``--t2m-mean``, ``--t2m-std`` (from :class:`EvaluatorOptions`)."""
    add_config_arguments(p, EvaluatorOptions)


def load_any_evaluator(spec: str, glove=None, feature_dim: int | None = None, device=None, tagger: str = "auto",
                       mean_path=None, std_path=None):
    """Load the evaluator named by ``spec`` (a folder, ``t2m:DIR``, or None: the shipped evaluator)."""
    if spec is None:
        from easytune_core.shipped import shipped_checkpoint
        spec = shipped_checkpoint("evaluator")
    spec = str(spec)
    if spec.startswith(T2M_PREFIX):
        from easytune_core.eval.t2m import load_t2m_evaluator
        folder = spec[len(T2M_PREFIX):]
        if not folder:
            raise ValueError("--evaluator t2m:DIR needs the folder of the T2M evaluator after 't2m:'")
        if glove is None:
            raise ValueError("the T2M evaluator reads captions as GloVe word vectors: pass --glove DIR "
                             "(the folder with our_vab_data.npy, our_vab_words.pkl, our_vab_idx.pkl)")
        return load_t2m_evaluator(folder, glove, feature_dim=feature_dim, device=device, tagger=tagger,
                                  mean_path=mean_path, std_path=std_path)
    if glove is not None or mean_path is not None:
        raise ValueError("--glove / --t2m-mean / --t2m-std apply to --evaluator t2m:DIR only")
    from easytune_core.eval.model import load_evaluator
    ev = load_evaluator(spec, device=device)
    if feature_dim is not None and ev.config.feature_dim != feature_dim:
        raise ValueError(f"evaluator {spec} scores {ev.config.feature_dim}-d motions, the data has {feature_dim}-d "
                         f"features; train one on this data with `python -m easytune_core train-evaluator`")
    return ev


def describe_evaluator(evaluator) -> dict:
    """What the numbers of ``evaluator`` can be compared with (recorded in result files)."""
    if getattr(evaluator, "name", None) == "t2m":
        sources = dict(getattr(evaluator, "token_sources", {}))
        tagged = sum(v for k, v in sources.items() if k != "dataset")
        dim = evaluator.config.feature_dim
        comparable = dim == 263 and tagged == 0
        note = ("T2M evaluator on 263-d features with the dataset's own POS tags: comparable with published "
                "HumanML3D tables when the data folder is HumanML3D's test split" if comparable else
                f"T2M evaluator ({dim}-d); {tagged} caption(s) tagged by {sorted(k for k in sources if k != 'dataset')} "
                f"instead of the dataset's tokens" if tagged else
                f"T2M evaluator on {dim}-d (KIT-ML) features: comparable with published KIT-ML tables when the data "
                f"folder is KIT-ML's test split")
        return {"kind": "t2m", "files": dict(evaluator.meta), "token_sources": sources,
                "comparable_with_published": comparable or (dim == 251 and tagged == 0), "note": note}
    return {"kind": "easytune", "comparable_with_published": False,
            "note": "the project's own evaluator: compare these numbers only with other runs scored by the same "
                    "evaluator checkpoint, never with published tables"}
