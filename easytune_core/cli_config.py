"""Command lines built from typed config dataclasses, by one helper.

Every trainer (``train-base``, ``train-reward``, ``train-evaluator``, ``finetune``) and the ``select``
and ``evaluate`` commands keep their settings in a dataclass with a docstring under each field and
validation in ``__post_init__``. :func:`add_config_arguments` turns such a dataclass into argparse
options, so the flags, their types, defaults and help text cannot drift from the config:

- field ``batch_size`` -> ``--batch-size`` (``metadata={"flag": "--steps"}`` renames one);
- the type comes from the annotation: ``int``, ``float``, ``str``, ``Path``, ``Optional[X]`` (the
  flag takes an X, the default stays None), ``list[str]`` (a repeatable flag, or a positional
  list with ``metadata={"positional": True}``);
- booleans: ``--flag`` sets True when the default is False; a True default gives ``--flag`` and
  ``--no-flag`` (so ``--no-amp`` turns off ``amp``);
- ``metadata={"choices": (...)}`` restricts the values; ``metadata={"cli": False}`` keeps a field
  off the command line; a field without a default, or with ``metadata={"required": True}``, is a
  required flag;
- the help text is the field's docstring, followed by its default.

Options that the user does not give are left out of the parsed namespace (``argparse.SUPPRESS``), so
:func:`config_from_args` can lay the user's flags over a preset as well as over the defaults.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import shlex
import textwrap
import types
import typing
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

__all__ = ["field_docs", "cli_fields", "add_config_arguments", "config_from_args", "config_to_argv", "command_line"]


@functools.lru_cache(maxsize=None)
def field_docs(cls: type) -> dict[str, str]:
    """The docstring written under each field of dataclass ``cls`` (and of its dataclass bases).

    Read from the source with ``ast`` (Python keeps no run-time record of attribute docstrings);
    fields without one are absent from the result."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):  # no source (frozen app, REPL): help text only loses its words
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, following in zip(body, body[1:]):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)):
                docs[node.target.id] = " ".join(inspect.cleandoc(following.value.value).split())
    return docs


def _flag(field: dataclasses.Field) -> str:
    return field.metadata.get("flag") or "--" + field.name.replace("_", "-")


def _unwrap_optional(tp) -> tuple[Any, bool]:
    """(inner type, True) for Optional[X] / X | None, else (tp, False)."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0], True
    return tp, False


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return field.default_factory()  # type: ignore[misc]
    return dataclasses.MISSING


def cli_fields(cls: type) -> list[dataclasses.Field]:
    """The fields of ``cls`` that appear on the command line, in declaration order."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get("cli", True) and f.init]


def add_config_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type,
                         skip: Iterable[str] = (), defaults: Optional[Mapping[str, Any]] = None) -> None:
    """Add one option per field of dataclass ``cls`` to ``parser`` (see the module docstring).

    Args:
        skip: field names to leave out (another part of the command sets them).
        defaults: values to show as the defaults in the help text instead of the field defaults
            (e.g. a preset's); parsing still leaves unset options out of the namespace.
    """
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    skip = set(skip)
    for f in cli_fields(cls):
        if f.name in skip:
            continue
        tp, _ = _unwrap_optional(hints[f.name])
        default = (defaults or {}).get(f.name, _default(f))
        help_text = docs.get(f.name, "").replace("``", "")
        kw: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS}
        if "choices" in f.metadata:
            kw["choices"] = tuple(f.metadata["choices"])
        origin = typing.get_origin(tp)
        if tp is bool:
            kw["action"] = argparse.BooleanOptionalAction if default is True else "store_true"
        elif origin in (list, tuple) or tp in (list, tuple):
            item = (typing.get_args(tp) or (str,))[0]
            if f.metadata.get("positional"):
                parser.add_argument(f.name, nargs="+", type=item, help=help_text,
                                    metavar=f.metadata.get("metavar", f.name.upper()))
                continue
            kw.update(action="append", type=item)
        elif tp in (int, float, str):
            kw["type"] = tp
        elif tp is Path or (isinstance(tp, type) and issubclass(tp, Path)):
            kw["type"] = str  # the config's __post_init__ makes it a Path
        else:
            raise TypeError(f"{cls.__name__}.{f.name}: no command-line form for type {tp!r}; "
                            "give it metadata={'cli': False}")
        if default is dataclasses.MISSING or f.metadata.get("required"):
            kw["required"] = True
        elif default not in (None, False, [], ()) or tp in (int, float):
            help_text = f"{help_text} (default: {default})" if help_text else f"default: {default}"
        if "metavar" in f.metadata:
            kw["metavar"] = f.metadata["metavar"]
        elif "flag" in f.metadata and "type" in kw:
            kw["metavar"] = _flag(f).lstrip("-").replace("-", "_").upper()
        flags = [_flag(f), *f.metadata.get("aliases", ())]
        parser.add_argument(*flags, help=help_text.replace("%", "%%"), **kw)


def config_from_args(cls: type, args: argparse.Namespace | Mapping[str, Any] | Any,
                     base: Optional[Mapping[str, Any]] = None, **overrides: Any):
    """An instance of ``cls`` from parsed options: field defaults < ``base`` (a preset) < the options
    the user gave < ``overrides``. ``args`` may be a Namespace, a mapping or already a ``cls``."""
    if isinstance(args, cls):
        return dataclasses.replace(args, **overrides) if overrides else args
    given = dict(args) if isinstance(args, Mapping) else vars(args)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    values = {k: v for k, v in (base or {}).items() if k in names}
    values.update({k: v for k, v in given.items() if k in names})
    values.update(overrides)
    return cls(**values)


def config_to_argv(config: Any, skip: Iterable[str] = (), only_changed: bool = True) -> list[str]:
    """The command-line options that reproduce ``config`` (fields equal to their default are left
    out when ``only_changed``); the inverse of :func:`config_from_args` for recorded commands."""
    skip = set(skip)
    argv: list[str] = []
    positional: list[str] = []
    for f in cli_fields(type(config)):
        if f.name in skip:
            continue
        value = getattr(config, f.name)
        default = _default(f)
        if only_changed and default is not dataclasses.MISSING and value == default:
            continue
        flag = _flag(f)
        if isinstance(value, bool):
            if value:
                argv.append(flag)
            elif default is True:
                argv.append("--no-" + flag[2:])
        elif isinstance(value, (list, tuple)):
            if f.metadata.get("positional"):
                positional += [str(v) for v in value]
            else:
                for v in value:
                    argv += [flag, str(v)]
        elif value is not None:
            argv += [flag, str(value)]
    return positional + argv


def command_line(prog: str, config: Any, skip: Iterable[str] = ()) -> str:
    """``prog`` followed by the shell-quoted options of :func:`config_to_argv`."""
    return " ".join([prog, *(shlex.quote(a) for a in config_to_argv(config, skip))])
