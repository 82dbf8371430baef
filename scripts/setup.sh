#!/usr/bin/env bash
# Creates .venv (if missing) and installs the project's requirements into it.
#   bash scripts/setup.sh         runtime requirements (the app)
#   bash scripts/setup.sh --dev   plus test requirements
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
req=requirements.txt
[ "${1:-}" = "--dev" ] && req=requirements-dev.txt
.venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
# render: Khronos glTF validator for tests/test_render_glb.py (optional; skipped without node/npm).
if [ "${1:-}" = "--dev" ] && command -v npm >/dev/null; then (cd tools/gltf-validator && npm install --no-audit --no-fund --silent) || echo "warning: gltf-validator not installed"; fi
