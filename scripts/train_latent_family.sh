#!/usr/bin/env bash
# Trains the latent model family end to end, resumably:
#   1 train-vae     motion VAE                        -> $RUNS/vae
#   2 train-latent  latent denoiser (50-step DDIM)    -> $RUNS/latent
#   3 distill       few-step student (1-4 steps)      -> $RUNS/fewstep
#   4 finetune      EasyTune on the latent model      -> $RUNS/latent_easytune (+ select on val)
#   5 finetune      EasyTune on the few-step model    -> $RUNS/fewstep_easytune (+ select on val)
#   6 evaluate      val (choices) and test (report) for every model -> $RUNS/eval/*.json
#
#   bash scripts/train_latent_family.sh                  # everything, CPU budgets below
#   STAGES="1 2" bash scripts/train_latent_family.sh     # some stages only
#   SCALE=0.1 bash scripts/train_latent_family.sh        # a short check of the whole chain (10% budgets)
#
# Every stage is a project command with --resume: rerunning the script continues an interrupted
# stage and skips finished ones (a stage is finished when its checkpoint's meta says "final": true,
# or, for fine-tuning, when its run folder has a checkpoint). Budgets are wall minutes
# (--time-budget); on a CUDA GPU the same commands run far more steps in them. Estimates of what
# each stage needs on a 2-core CPU are in docs/latent.md ("Training the family").
# Copy the results into assets/checkpoints/{latent,fewstep,latent_easytune,fewstep_easytune}.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
DATA=${DATA:-builtin}
RUNS=${RUNS:-runs/latent_family}
THREADS=${THREADS:-2}
SCALE=${SCALE:-1}
STAGES=${STAGES:-"1 2 3 4 5 6"}
NICE=${NICE:-10}
mkdir -p "$RUNS/logs" "$RUNS/eval"
minutes() { "$PY" -c "print(max(1.0, round($1 * $SCALE, 1)))"; }
steps() { "$PY" -c "print(max(2, int($1 * $SCALE)))"; }
run() {  # run NAME CMD...: logged, niced
  local name=$1; shift
  echo "[$(date +%H:%M:%S)] $name: $*" | tee -a "$RUNS/logs/$name.log"
  nice -n "$NICE" "$PY" -m easytune_core "$@" --threads "$THREADS" 2>&1 | tee -a "$RUNS/logs/$name.log"
}
final() {  # final FOLDER: true when the checkpoint there says it finished
  [ -f "$1/config.json" ] && "$PY" -c "import json,sys; sys.exit(0 if json.load(open('$1/config.json'))['meta'].get('final') else 1)"
}
has() { echo " $STAGES " | grep -q " $1 "; }

if has 1 && ! final "$RUNS/vae"; then
  run train-vae train-vae --data "$DATA" --out "$RUNS/vae" --resume \
    --latent-tokens 2 --width 128 --layers 5 --heads 4 --ff 512 --dropout 0.1 \
    --batch-size 64 --lr 2e-4 --warmup 500 --kl-weight 1e-4 --steps 100000 --time-budget "$(minutes 240)" \
    --val-every 1000 --ckpt-every 500 --val-motions 512 --save-dtype float16
fi
if has 2 && ! final "$RUNS/latent"; then
  run train-latent train-latent --vae "$RUNS/vae" --data "$DATA" --out "$RUNS/latent" --resume \
    --width 192 --layers 5 --heads 4 --ff 768 --dropout 0.1 --cond-drop-prob 0.1 --prediction eps \
    --batch-size 256 --lr 2e-4 --warmup 500 --ema 0.999 --views 4 --steps 200000 --time-budget "$(minutes 60)" \
    --val-every 1000 --ckpt-every 1000 --save-dtype float16
fi
if has 3 && ! final "$RUNS/fewstep"; then
  run distill distill --teacher "$RUNS/latent" --data "$DATA" --out "$RUNS/fewstep" --resume \
    --batch-size 128 --lr 1e-4 --warmup 200 --target-ema 0.95 --w-min 1.5 --w-max 4.0 --original-steps 50 \
    --loss huber --views 4 --steps 100000 --time-budget "$(minutes 45)" --val-every 500 --ckpt-every 500 \
    --save-dtype float16
fi
for stage in 4 5; do
  base=$RUNS/latent; out=$RUNS/latent_easytune; extra=(--select last:10); st=50
  if [ "$stage" = 5 ]; then base=$RUNS/fewstep; out=$RUNS/fewstep_easytune; extra=(--sampler-steps 4 --select all); st=4; fi
  if has "$stage" && [ ! -f "$out/checkpoint/config.json" ]; then
    resume=(); [ -f "$out/state.json" ] && resume=(--resume)
    run "finetune-$(basename "$out")" finetune --method easytune --base "$base" --reward reward \
      --data "$DATA" --split train --out "$out" "${extra[@]}" --steps "$(steps 1000)" --lr 1e-5 --warmup 20 \
      --batch-size 64 --max-frames 120 --keep-every "$(steps 250)" --seed 0 --half-weights "${resume[@]}"
    # choose the snapshot on val (rule checks + evaluator) and make it the run's result
    run "select-$(basename "$out")" select "$out" --base "$base" --split val --steps "$st" --copy-to "$out/selected"
  fi
done
if has 6; then
  for m in latent latent_easytune/selected fewstep fewstep_easytune/selected; do
    [ -f "$RUNS/$m/config.json" ] || continue
    st=50; case $m in fewstep*) st=4 ;; esac
    tag=$(echo "$m" | cut -d/ -f1)
    for split in val test; do
      [ -f "$RUNS/eval/${tag}_$split.json" ] && continue
      run "evaluate-$tag-$split" evaluate --checkpoint "$RUNS/$m" --data "$DATA" --split "$split" --repeats 1 \
        --mm-prompts 0 --steps "$st" --json "$RUNS/eval/${tag}_$split.json"
    done
  done
  [ -f "$RUNS/fewstep/config.json" ] && for st in 1 2; do
    [ -f "$RUNS/eval/fewstep_${st}step_test.json" ] || run "evaluate-fewstep-${st}step" evaluate \
      --checkpoint "$RUNS/fewstep" --data "$DATA" --split test --repeats 1 --mm-prompts 0 --steps "$st" \
      --json "$RUNS/eval/fewstep_${st}step_test.json"
  done
fi
echo "done: $RUNS (logs in $RUNS/logs, metrics in $RUNS/eval)"
