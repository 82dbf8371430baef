#!/usr/bin/env bash
# Trains the frame-space model set (the evaluator, the reward model with SPL and its
# retrieval-only control, the base denoiser, EasyTune) on one dataset, resumably:
#   1 train-evaluator  evaluator (never the reward model)           -> $RUNS/evaluator
#   2 train-reward     retrieval pre-training                       -> $RUNS/reward_pretrain
#   3 train-reward     + SPL (the shipped reward)                   -> $RUNS/reward
#   4 train-reward     + the same steps without SPL (the control)   -> $RUNS/reward_control
#   5 train-base       base denoiser                                -> $RUNS/base
#   6 finetune         EasyTune candidate runs on the base          -> $RUNS/tune_<name>
#   7 select           recipe and step chosen on val                -> $RUNS/easytune
#
#   bash scripts/train_shipped.sh                              # everything, on data/builtin
#   DATA=data/everyday RUNS=runs/everyday bash scripts/train_shipped.sh
#   STAGES="1 2 3 4" bash scripts/train_shipped.sh             # some stages only
#
# Step counts, not wall-clock budgets, fix what each stage trains, so the result does not depend
# on the machine's speed (BASE_MINUTES caps the base stage's wall time; rerunning the script
# continues it with --resume until BASE_STEPS). A stage is skipped when its checkpoint exists
# (for the base: when its config says it reached BASE_STEPS). Then copy model.safetensors,
# config.json and stats.safetensors of each folder into assets/checkpoints/<name>/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
DATA=${DATA:-builtin}
RUNS=${RUNS:-runs/shipped}
THREADS=${THREADS:-2}
NICE=${NICE:-10}
STAGES=${STAGES:-"1 2 3 4 5 6 7"}
EVAL_STEPS=${EVAL_STEPS:-3000}
REWARD_STEPS=${REWARD_STEPS:-1500}
# Stages 3 and 4 (SPL and its control, from the same seed and batches) on data with near-twin
# records (the everyday world): half of every batch in near-twin pairs, lr 1e-4, 300 steps, and SPL
# counts only rank 1 as retrieved; chosen on val over random batches at lr 1e-5 for 200 steps
# (docs/reward_eval.md), which data without twin records gets
TWIN_RECIPE=${TWIN_RECIPE:-"--twin-share 0.5 --lr 1e-4 --steps 300"}
TWIN_SPL=${TWIN_SPL:-"--spl-k 1"}
PLAIN_RECIPE=${PLAIN_RECIPE:-"--lr 1e-5 --steps 200"}
BASE_STEPS=${BASE_STEPS:-40000}
BASE_MINUTES=${BASE_MINUTES:-600}
BASE_INIT=${BASE_INIT:-}  # a denoiser folder to start the base from (empty: random initialisation)
BASE_LR=${BASE_LR:-3e-4}
BASE_DROPOUT=${BASE_DROPOUT:-0.05}  # the shipped bases used 0.05; 0 trains about 1.25x faster per step on a CPU (benchmarks/base_training_speed.py)
BASE_SITTING=${BASE_SITTING:-0}  # minutes: stop the base stage after this long (rerun to go on; 0: no stop)
BASE_TOKENS=${BASE_TOKENS:-0}  # token states of the text the base also attends to (0: the pooled embedding only)
BASE_LAYERS=${BASE_LAYERS:-4}  # encoder layers; more than BASE_INIT's adds layers that start as the identity
# EasyTune candidates, name:batch:lr:optimiser steps:snapshot every N steps[:weight of the pull toward
# the base (finetune --reg-weight; default 0)]
TUNE_RUNS=${TUNE_RUNS:-"b16:16:1e-5:400:200 b16hi:16:3e-5:400:200 b32:32:2e-5:300:150"}
# how much of val the selection scores (rule captions, evaluator pairs, seeds per paraphrase prompt)
SELECT_ARGS=${SELECT_ARGS:-"--rule-captions 128 --eval-prompts 128 --paraphrase-seeds 2"}
mkdir -p "$RUNS/logs"
run() {  # run NAME CMD...: logged, niced
  local name=$1; shift
  echo "[$(date +%H:%M:%S)] $name: $*" | tee -a "$RUNS/logs/$name.log"
  nice -n "$NICE" "$PY" -m easytune_core "$@" --threads "$THREADS" 2>&1 | tee -a "$RUNS/logs/$name.log"
}
has() { echo " $STAGES " | grep -q " $1 "; }
done_() { [ -f "$1/model.safetensors" ] && [ -f "$1/config.json" ]; }

if has 1 && ! done_ "$RUNS/evaluator"; then
  run train-evaluator train-evaluator --data "$DATA" --out "$RUNS/evaluator" --steps "$EVAL_STEPS" --fp16-weights
fi
if has 2 && ! done_ "$RUNS/reward_pretrain"; then
  run train-reward train-reward --data "$DATA" --out "$RUNS/reward_pretrain" --steps "$REWARD_STEPS" --lr 2e-4 --seed 0
fi
twins_in() {  # does dataset $1 record near twins in its train split?
  "$PY" -c "import sys; from easytune_core.data.builtin import resolve_dataset; from easytune_core.data.twins import load_twins
sys.exit(0 if load_twins(resolve_dataset(sys.argv[1], create=False), 'train') else 1)" "$1" 2>/dev/null
}
recipe=($PLAIN_RECIPE); spl=()
if { has 3 || has 4; } && twins_in "$DATA"; then recipe=($TWIN_RECIPE); spl=($TWIN_SPL); fi
if has 3 && ! done_ "$RUNS/reward"; then
  run train-reward-spl train-reward --spl "${spl[@]}" --init "$RUNS/reward_pretrain" --data "$DATA" \
    --out "$RUNS/reward" "${recipe[@]}" --seed 1
fi
if has 4 && ! done_ "$RUNS/reward_control"; then
  run train-reward-control train-reward --init "$RUNS/reward_pretrain" --data "$DATA" --out "$RUNS/reward_control" \
    "${recipe[@]}" --seed 1
fi
if has 5; then
  reached=0
  [ -f "$RUNS/base/config.json" ] && reached=$("$PY" -c "import json; print(json.load(open('$RUNS/base/config.json'))['meta'].get('step', 0))")
  if [ "$reached" -lt "$BASE_STEPS" ]; then
    resume=(); [ -d "$RUNS/base" ] && resume=(--resume)
    init=(); [ -n "$BASE_INIT" ] && init=(--init "$BASE_INIT")
    run train-base train-base --data "$DATA" --out "$RUNS/base" --width 256 --layers "$BASE_LAYERS" --heads 4 --ff 512 \
      --dropout "$BASE_DROPOUT" --batch-size 32 --lr "$BASE_LR" --warmup 300 --ema 0.998 --val-every 500 --ckpt-every 200 \
      --save-dtype float16 --steps "$BASE_STEPS" --time-budget "$BASE_MINUTES" --stop-after "$BASE_SITTING" \
      --text-tokens "$BASE_TOKENS" "${init[@]}" "${resume[@]}" --quiet
  fi
fi
# 6: EasyTune candidate runs (the recipes of the val sweep)
if has 6; then
  for spec in $TUNE_RUNS; do
    IFS=: read -r name bs lr steps snap reg <<< "$spec"
    at=0; [ -f "$RUNS/tune_$name/state.json" ] && at=$("$PY" -c "import json; print(json.load(open('$RUNS/tune_$name/state.json'))['step'])")
    [ "$at" -ge "$steps" ] && continue
    resume=(); [ -f "$RUNS/tune_$name/state.json" ] && resume=(--resume)
    run "finetune-$name" finetune --method easytune --select last:10 --reward-target x0 --sampler-steps 50 \
      --guidance 2.5 --lr "$lr" --warmup 20 --batch-size "$bs" --max-frames 120 --steps "$steps" \
      --keep-every "$snap" --save-every 50 --half-weights --reg-weight "${reg:-0}" --base "$RUNS/base" \
      --reward "$RUNS/reward" --data "$DATA" --out "$RUNS/tune_$name" "${resume[@]}"
  done
fi
# 7: choose the recipe and step on the val split (rules, paraphrase set, evaluator) -> $RUNS/easytune
if has 7 && ! done_ "$RUNS/easytune"; then
  runs=(); for spec in $TUNE_RUNS; do runs+=("$RUNS/tune_${spec%%:*}"); done
  run select select "${runs[@]}" --base "$RUNS/base" --evaluator "$RUNS/evaluator" --data "$DATA" --split val \
    $SELECT_ARGS --out "$RUNS/selection" --copy-to "$RUNS/easytune"
fi
echo "done: $RUNS (logs in $RUNS/logs)"
