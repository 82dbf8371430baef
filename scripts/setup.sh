#!/usr/bin/env bash
# Creates .venv (if missing) and installs the project into it, editable, with its extras, so the
# `easytune` console script exists and code changes take effect without reinstalling.
#   bash scripts/setup.sh         the library, the app and the renderers: .[app,render]
#   bash scripts/setup.sh --dev   plus SMPL and the test tools: .[dev]
# PYTHON picks the interpreter (default python3; 3.11-3.13).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
extras="app,render"
[ "${1:-}" = "--dev" ] && extras="dev"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$extras]"
# render: Khronos glTF validator for tests/test_render_glb.py (optional; skipped without node/npm).
if [ "${1:-}" = "--dev" ] && command -v npm >/dev/null; then (cd tools/gltf-validator && npm install --no-audit --no-fund --silent) || echo "warning: gltf-validator not installed"; fi
