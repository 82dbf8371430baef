"""The action vocabulary: one :class:`Action` per drawable kind, registered by the builder modules.

An action is drawn in two steps so that near-twin motions can be made on purpose: ``draw``
picks its parameters (side, count, pace, degrees, ...) as a plain dict, and ``build`` turns
parameters plus a generator into a :class:`clip.Clip`. Two motions built from the same seeds
with parameters that differ in one attribute (``attrs``) differ only in that attribute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

FAMILIES = ("locomotion", "paths", "jumps", "floor", "balance", "upper", "sports", "dance", "gestures")


@dataclass(frozen=True)
class Action:
    """One drawable action kind.

    Attributes:
        kind: name used in ``SynthConfig.action_weights`` and ``synthesize_sample(kinds=...)``.
        family: group used for reporting (one of ``FAMILIES``).
        weight: default relative frequency.
        draw: ``draw(rng, posture) -> params`` (a JSON-able dict).
        build: ``build(rng, params) -> Clip`` with the action records in ``clip.actions``.
        starts: postures the action can start from (the first is where a transition leads).
        end: posture at the end (a name, or ``end(params) -> name``).
        attrs: attribute -> values a near twin may switch to (``"layer.side"`` reaches into
            the upper-body layer of a gait).
        layer: an upper-body gesture that can also be done while walking, jogging or marching;
            then ``layer_build(rng, params) -> (joint targets, weight, frames, record fields)``.
    """

    kind: str
    family: str
    weight: float
    draw: Callable
    build: Callable
    starts: tuple = ("stand",)
    end: Any = "stand"
    attrs: dict = field(default_factory=dict)
    layer_build: Callable | None = None

    def end_posture(self, params: dict) -> str:
        return self.end(params) if callable(self.end) else self.end


REGISTRY: dict[str, Action] = {}


def register(*actions: Action) -> None:
    for a in actions:
        if a.family not in FAMILIES:
            raise ValueError(f"action {a.kind!r}: unknown family {a.family!r}")
        REGISTRY[a.kind] = a


def _get(params: dict, attr: str):
    d = params
    for part in attr.split(".")[:-1]:
        d = d.get(part) or {}
    return d.get(attr.split(".")[-1])


def _set(params: dict, attr: str, value) -> dict:
    parts = attr.split(".")
    if len(parts) == 1:
        return {**params, attr: value}
    return {**params, parts[0]: _set(dict(params[parts[0]]), ".".join(parts[1:]), value)}


def twin_attributes(kind: str, params: dict) -> list[str]:
    """Attributes of ``params`` that a near twin may change (those present in the params)."""
    a = REGISTRY[kind]
    return [k for k in a.attrs if _get(params, k) is not None and len(a.attrs[k]) > 1]


def vary(rng, kind: str, params: dict, attr: str) -> tuple[dict, Any, Any]:
    """``params`` with ``attr`` switched to another allowed value: ``(new params, old, new)``.

    Counts move by one (2 <-> 3), seconds and metres by two or more; other attributes take any
    other allowed value.
    """
    values = list(REGISTRY[kind].attrs[attr])
    old = _get(params, attr)
    if attr.endswith("count") and isinstance(old, (int, np.integer)):
        options = [v for v in values if abs(v - old) == 1] or [v for v in values if v != old]
    elif attr in ("seconds", "distance") and isinstance(old, (int, np.integer)):
        # Durations and distances are measured less precisely than counts: keep twins 2+ apart.
        options = [v for v in values if abs(v - old) >= 2] or [v for v in values if v != old]
    else:
        options = [v for v in values if v != old]
    new = options[int(rng.integers(len(options)))]
    return _set(params, attr, new), old, new


__all__ = ["Action", "REGISTRY", "FAMILIES", "register", "vary", "twin_attributes"]
