"""Hugging Face conventions for every checkpoint kind: ``from_pretrained``, ``save_pretrained``,
``push_to_hub``.

A pretrained folder is a checkpoint folder (:mod:`easytune_core.checkpoints`: ``model.safetensors``,
``config.json``, ``stats.safetensors``) plus ``README.md``, a model card with YAML front matter,
and ``metrics.json`` when the model's metrics were measured. The same layout is written locally
and uploaded to the Hub, so a folder downloaded from the Hub loads like a local one.

Names are resolved in this order: an existing local folder, a shipped model name (``base``,
``reward``, ``evaluator``, ``easytune``), then a Hub repo id (``org/name``), fetched with
``huggingface_hub.snapshot_download``. That honours the Hub cache (``HF_HUB_CACHE`` /
``HF_HOME``), ``HF_HUB_OFFLINE=1`` and ``local_files_only=True``: offline, a cached snapshot is
used and nothing else is fetched.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from .checkpoints import CheckpointError, read_config, save_checkpoint
from .shipped import SHIPPED, shipped_checkpoint

CARD = "README.md"
METRICS = "metrics.json"
_FILES = ["config.json", "model.safetensors", "stats.safetensors", CARD, METRICS,
          # a latent model's VAE lives in vae/ (the folder loads on its own)
          "vae/config.json", "vae/model.safetensors", "vae/stats.safetensors"]
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")

_ABOUT = {
    "denoiser": ("text-to-motion diffusion model (MDM-style transformer denoiser over HumanML3D "
                 "263-d features, DDIM sampling with classifier-free guidance)"),
    "reward": ("noise-aware text-motion retrieval reward model: scores how well a (possibly noised) "
               "motion matches a caption; used to fine-tune the generator"),
    "evaluator": ("independent text-motion evaluator (movement encoder + GRUs) for the HumanML3D "
                  "protocol metrics; never used as a reward"),
    "lora": "LoRA adapter for an EasyTune Studio text-to-motion denoiser",
}
_USAGE = {
    "denoiser": ("from easytune_core.pipeline import MotionPipeline\n"
                 "pipe = MotionPipeline.from_pretrained({src!r})\n"
                 "res = pipe.generate([\"a person jumps twice\"], seconds=4, seed=0)\n"
                 "res.joints.shape  # (1, 80, 22, 3) metres, Y up, 20 fps"),
    "reward": ("from easytune_core.reward.model import RewardModel\n"
               "reward = RewardModel.from_pretrained({src!r})"),
    "evaluator": ("from easytune_core.eval.model import Evaluator\n"
                  "evaluator = Evaluator.from_pretrained({src!r})"),
    "lora": "",
}


def is_repo_id(name) -> bool:
    """True for strings shaped like a Hub repo id (``org/name``)."""
    return isinstance(name, str) and bool(_REPO_ID.match(name)) and not name.startswith(("./", "../"))


def resolve_pretrained(name_or_path, kind: str | None = None, revision: str | None = None,
                       cache_dir=None, local_files_only: bool | None = None, token=None) -> Path:
    """Local folder of a pretrained checkpoint.

    Args:
        name_or_path: a local folder, a shipped name ("base", "easytune", ...) or a Hub repo id.
        kind: when given, a checkpoint of another kind raises CheckpointError.
        revision, cache_dir, token: passed to ``huggingface_hub.snapshot_download``.
        local_files_only: only use the Hub cache (also implied by ``HF_HUB_OFFLINE=1``).
    Returns:
        The folder holding ``config.json`` and the weights.
    """
    path = Path(str(name_or_path)).expanduser()
    if path.is_dir():
        folder = path
    elif str(name_or_path) in SHIPPED:
        folder = shipped_checkpoint(str(name_or_path))
    elif is_repo_id(str(name_or_path)):
        folder = _download(str(name_or_path), revision, cache_dir, local_files_only, token)
    else:
        raise FileNotFoundError(f"checkpoint folder {name_or_path} does not exist, and it is neither a shipped model "
                                f"({', '.join(SHIPPED)}) nor a Hub repo id (org/name)")
    cfg = read_config(folder)
    if kind is not None and cfg["kind"] != kind:
        raise CheckpointError(f"{name_or_path} holds a {cfg['kind']!r} checkpoint, expected {kind!r}")
    return folder


def _download(repo_id, revision, cache_dir, local_files_only, token) -> Path:
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError as err:  # pragma: no cover - a declared dependency
        raise ImportError("loading from the Hub needs huggingface_hub: pip install huggingface_hub") from err
    kwargs = {"revision": revision, "cache_dir": cache_dir, "token": token, "allow_patterns": _FILES}
    if local_files_only is not None:
        kwargs["local_files_only"] = local_files_only
    try:
        return Path(snapshot_download(repo_id, **kwargs))
    except LocalEntryNotFoundError as err:
        raise FileNotFoundError(
            f"{repo_id} is not a local folder, and as a Hub repo id it is not in the local Hugging Face cache "
            f"while downloading is off (HF_HUB_OFFLINE=1 or "
            f"local_files_only=True). Download it once online (huggingface-cli download {repo_id}), or pass "
            f"the path of a local folder holding its config.json and model.safetensors.") from err
    except OSError as err:  # RepositoryNotFoundError, HTTP and connection errors
        raise FileNotFoundError(f"{repo_id} is not a local folder, and fetching it from the Hugging Face Hub failed "
                                f"({type(err).__name__}: {err}); check the path or repo id and your connection") from err


def read_metrics(folder) -> dict | None:
    """The ``metrics.json`` of a pretrained folder, or None."""
    path = Path(folder) / METRICS
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is not valid JSON ({err})") from err
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise CheckpointError(f"{path} must be an object with a \"metrics\" object")
    return data


def training_command(meta: dict) -> str | None:
    """The exact command that trained a checkpoint, when its meta recorded it."""
    meta = meta or {}
    for cmd in (meta.get("command"), (meta.get("finetune") or {}).get("extra", {}).get("command")):
        if isinstance(cmd, str) and cmd.strip():
            return cmd
    return None


def init_chain(meta: dict) -> list[dict]:
    """The runs a checkpoint was trained on top of (``meta["init"]``, nested), earliest first."""
    chain, rec = [], (meta or {}).get("init")
    while isinstance(rec, dict) and len(chain) < 32:
        chain.append(rec)
        rec = rec.get("init")
    return chain[::-1]


def _yaml_str(s) -> str:
    return json.dumps(str(s))  # a JSON string is a valid YAML scalar


def model_card(kind: str, config: dict, meta: dict | None = None, metrics: dict | None = None,
               name: str = "EasyTune Studio model", source: str | None = None) -> str:
    """Text of ``README.md``: YAML front matter (licence, tags, model-index with the measured
    metrics) and a body with usage, metrics, the training command and the architecture."""
    meta = meta or {}
    front = ["---", "license: mit", "library_name: easytune-studio", "tags:",
             *[f"- {t}" for t in ("text-to-motion", "motion-generation", "diffusion", "humanml3d", "easytune",
                                  kind)]]
    values = (metrics or {}).get("metrics") or {}
    if values:
        split = (metrics or {}).get("split", "test")
        front += ["model-index:", f"- name: {_yaml_str(name)}", "  results:", "  - task:",
                  "      type: text-to-motion", "      name: Text-to-motion", "    dataset:",
                  f"      name: {_yaml_str((metrics or {}).get('dataset', 'EasyTune built-in motion-language dataset'))}",
                  "      type: easytune-builtin", f"      split: {_yaml_str(split)}", "    metrics:"]
        for key, value in values.items():
            front += [f"    - type: {key}", f"      value: {float(value):.6g}"]
    front.append("---")
    body = [f"# {name}", "", f"An EasyTune Studio {_ABOUT.get(kind, kind)}.", ""]
    usage = _USAGE.get(kind, "").format(src=source or "path/to/this/folder")
    if usage:
        body += ["## Use", "", "```python", usage, "```", ""]
    if values:
        body += ["## Measured metrics", ""]
        if metrics.get("what"):
            body += [str(metrics["what"]), ""]
        body += ["| metric | value |", "|---|---|", *[f"| {k} | {float(v):.4g} |" for k, v in values.items()], ""]
        if metrics.get("command"):
            body += ["Measured with:", "", "```bash", str(metrics["command"]), "```", ""]
    else:
        body += ["## Measured metrics", "", "None recorded with this checkpoint.", ""]
    cmd = training_command(meta)
    body += ["## Training", ""]
    chain = init_chain(meta)
    if chain:
        body += ["Trained in stages, each starting from the weights the one before wrote (earliest first):", "",
                 "```bash"]
        for rec in chain:
            body += [rec.get("command") or "# (this stage's command was not recorded)",
                     f"# -> {rec.get('checkpoint')}: step {rec.get('step', '?')} on {rec.get('data', '?')}"]
        body += [cmd or "# (the last stage's command was not recorded)", "```", ""]
    else:
        body += (["```bash", cmd, "```", ""] if cmd else
                 ["The training command was not recorded in this checkpoint's metadata.", ""])
    storage = meta.get("storage")
    if isinstance(storage, dict) and storage.get("dtype"):
        body += [f"Its weights were then stored as {storage['dtype']}"
                 + (" (weight matrices as 8-bit rows with float32 row scales, the rest float16; they load as "
                    "float32)" if storage["dtype"] == "int8" else "") + ":", "",
                 "```bash", f"python -m easytune_core compact {storage.get('source', '<source>')} --out <folder> "
                 f"--dtype {storage['dtype']}", "```", ""]
    if config:
        body += ["## Configuration", "", "| field | value |", "|---|---|",
                 *[f"| {k} | {json.dumps(v)} |" for k, v in sorted(config.items()) if not isinstance(v, dict)], ""]
    body += ["## Files", "", "- `model.safetensors`: weights; `config.json`: configuration and training metadata;",
             "  `stats.safetensors`: feature mean/std" + ("; `metrics.json`: the metrics above" if values else ""), ""]
    return "\n".join(front + body)


def save_pretrained(folder, model, config, kind: str, mean=None, std=None, meta: dict | None = None,
                    metrics: dict | None = None, dtype=None, name: str | None = None,
                    source: str | None = None) -> Path:
    """Write a pretrained folder: the checkpoint files, ``metrics.json`` (when given) and the card.

    Args are those of :func:`easytune_core.checkpoints.save_checkpoint`, plus ``metrics`` (the
    ``metrics.json`` object: ``{"metrics": {name: value}, "split", "what", "command"}``), ``name``
    (title of the card) and ``source`` (the id or path shown in the card's usage snippet).
    """
    folder = Path(folder)
    if metrics is not None and not isinstance(metrics.get("metrics"), dict):
        raise ValueError("metrics must be an object with a \"metrics\" mapping of name -> value")
    save_checkpoint(folder, model, config, kind, mean=mean, std=std, meta=meta, dtype=dtype)
    if metrics is not None:
        (folder / METRICS).write_text(json.dumps(metrics, indent=2, sort_keys=True))
    elif (folder / METRICS).exists():
        (folder / METRICS).unlink()
    write_model_card(folder, name=name, source=source)
    return folder


def write_model_card(folder, name: str | None = None, source: str | None = None) -> Path:
    """(Re)write ``README.md`` of a checkpoint folder from its config.json and metrics.json."""
    folder = Path(folder)
    cfg = read_config(folder)
    text = model_card(cfg["kind"], cfg["config"], cfg.get("meta"), read_metrics(folder),
                      name=name or f"EasyTune Studio {cfg['kind']}", source=source or str(folder))
    (folder / CARD).write_text(text)
    return folder / CARD


def push_folder(folder, repo_id: str, private: bool | None = None, token=None, revision: str | None = None,
                commit_message: str | None = None) -> str:
    """Upload a pretrained folder to a Hub model repo (created if missing); returns the commit URL."""
    from huggingface_hub import HfApi

    if not is_repo_id(repo_id):
        raise ValueError(f"repo_id must look like 'org/name', got {repo_id!r}")
    read_config(folder)
    if not (Path(folder) / CARD).exists():
        write_model_card(folder, name=repo_id.split("/")[-1], source=repo_id)
    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    info = api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="model", revision=revision,
                             commit_message=commit_message or "Upload EasyTune Studio checkpoint",
                             allow_patterns=_FILES)
    return str(getattr(info, "commit_url", info))


class PretrainedMixin:
    """``from_pretrained`` / ``save_pretrained`` / ``push_to_hub`` for a model class.

    A class sets ``checkpoint_kind``, implements ``_from_folder(folder, **kwargs)`` (load a local
    checkpoint folder) and ``_pretrained_parts()`` returning the keyword arguments of
    :func:`save_pretrained` except ``folder``.
    """

    checkpoint_kind = ""

    @classmethod
    def from_pretrained(cls, name_or_path, *, revision: str | None = None, cache_dir=None,
                        local_files_only: bool | None = None, token=None, **kwargs):
        """Load from a local folder, a shipped name or a Hub repo id (see :func:`resolve_pretrained`);
        other keyword arguments go to the class's folder loader (e.g. ``device``)."""
        folder = resolve_pretrained(name_or_path, kind=cls.checkpoint_kind, revision=revision, cache_dir=cache_dir,
                                    local_files_only=local_files_only, token=token)
        obj = cls._from_folder(folder, **kwargs)
        obj.metrics = read_metrics(folder)
        return obj

    def save_pretrained(self, folder, dtype=None, name: str | None = None, source: str | None = None) -> Path:
        """Write this model as a pretrained folder (weights, config, stats, metrics, model card).

        ``dtype`` (e.g. torch.float16) halves the files; weights load back as float32."""
        return save_pretrained(folder, dtype=dtype, name=name, source=source, **self._pretrained_parts())

    def push_to_hub(self, repo_id: str, private: bool | None = None, token=None, revision: str | None = None,
                    commit_message: str | None = None, dtype=None) -> str:
        """Write the pretrained folder to a temporary directory and upload it; returns the commit URL."""
        with tempfile.TemporaryDirectory(prefix="easytune-push-") as tmp:
            self.save_pretrained(tmp, dtype=dtype, name=repo_id.split("/")[-1], source=repo_id)
            return push_folder(tmp, repo_id, private=private, token=token, revision=revision,
                               commit_message=commit_message)

    def _pretrained_parts(self) -> dict:  # pragma: no cover - each class implements it
        raise NotImplementedError

    @classmethod
    def _from_folder(cls, folder, **kwargs):  # pragma: no cover - each class implements it
        raise NotImplementedError
