#!/usr/bin/env bash
# The main job end to end on built-in synthetic thermal faces (run by `make demo`).
# Usage: scripts/demo.sh [OUT_DIR]   (the tiaug/samcl commands must be on PATH, e.g. .venv/bin)
# DEMO_ITERS (default 1000) sets the training steps of each of the three runs.
set -euo pipefail
out=${1:-demo_out}
iters=${DEMO_ITERS:-1000}
mkdir -p "$out"
size=64x80 # small faces so that three trainings fit in minutes on two CPU cores
conditions="hot_room cold_room glasses hand face_mask"

echo "== 1. synthetic thermal faces (degrees Celsius, 6-class masks, 68 landmarks)"
tiaug synth "$out/train.h5" -n 1000 --size "$size" --seed 1 --overwrite
tiaug synth "$out/val.h5" -n 100 --size "$size" --seed 2 --overwrite
tiaug synth "$out/test.h5" -n 200 --size "$size" --seed 3 --overwrite
tiaug synth "$out/test_unconstrained.h5" -n 200 --size "$size" --seed 3 --unconstrained --overwrite
for condition in $conditions; do # the same test faces, each under one real-world condition
  tiaug synth "$out/test_$condition.h5" -n 200 --size "$size" --seed 3 --condition "$condition" --overwrite
done

echo "== 2. TiAug: occluders, thermal noise and a new room (--scene) for every copy, with provenance"
tiaug synth "$out/faces.h5" -n 100 --size 128x160 --seed 4 --overwrite
tiaug augment "$out/faces.h5" "$out/faces_tiaug.h5" --copies 2 --seed 0 --workers 2 --scene --overwrite

echo "== 3. foreground/background temperatures: lab faces, after TiAug, real-world conditions"
tiaug stats "$out/faces.h5" "$out/faces_tiaug.h5" "$out/test_unconstrained.h5" --png "$out/stats.png" --overwrite

echo "== 4. previews with a thermal colour map, masks and occluder outlines"
tiaug preview "$out/faces_tiaug.h5" --png "$out/preview_tiaug.png" -n 8 --seed 0 --overwrite
tiaug preview "$out/test_unconstrained.h5" --png "$out/preview_unconstrained.png" -n 8 --seed 0 --overwrite

echo "== 5. three trainings at once on the CPU (UNet, base width 16, Dice + CE, $iters steps, one thread each)"
# plain: lab faces as they are (no TiAug, no scene steps, no SAM-CL). TiAug + scene: samcl-train's defaults
# without SAM-CL. TiAug + scene + SAM-CL: all of samcl-train's defaults (SAM-CL's stable preset, λ 0.1).
declare -A flags=(
  [plain]="--no-tiaug --no-scene --no-samcl"
  [defaults]="--no-samcl"
  [samcl]=""
)
pids=()
for run in plain defaults samcl; do
  rm -rf "$out/run_$run"
  # shellcheck disable=SC2086
  samcl-train --data "$out/train.h5" --val "$out/val.h5" --out "$out/run_$run" --model unet \
    --model-arg base_width=16 --crop "$size" --iters "$iters" --batch-size 8 --lr 0.05 \
    --val-every $((iters / 6)) --checkpoint-every $((iters / 6)) --workers 0 --threads 1 --seed 0 \
    --progress-every $((iters / 5)) ${flags[$run]} >"$out/run_$run.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || { echo "a training failed; see $out/run_*.log" >&2; exit 1; }; done
tail -n 1 "$out"/run_*.log # the last progress record of each run

echo "== 6. evaluation: the command line on one file, then every test set from Python"
samcl-eval --checkpoint "$out/run_defaults/best.pt" --data "$out/test_unconstrained.h5" \
  --json "$out/eval_defaults_unconstrained.json" --overwrite --no-progress
samcl-predict --checkpoint "$out/run_defaults/best.pt" "$out/test_unconstrained.h5" --out "$out/predictions" \
  --overwrite --no-progress --overlays

python - "$out" $conditions <<'PY'
import sys
from pathlib import Path

from matplotlib.figure import Figure

from samcl.inference.evaluation import evaluate_file, scores
from samcl.inference.predictor import load_inference_model

out, conditions = Path(sys.argv[1]), sys.argv[2:]
tests = {"clean": "test", **{c: f"test_{c}" for c in conditions}, "mixed": "test_unconstrained"}
runs = {"plain": "plain (no TiAug)", "defaults": "TiAug + scene", "samcl": "TiAug + scene + SAM-CL"}
table = {}
for run in runs:
    model = load_inference_model(out / f"run_{run}" / "best.pt", device="cpu")
    table[run] = {t: 100 * scores(evaluate_file(model, out / f"{f}.h5", batch_size=50).clean)["miou"]
                  for t, f in tests.items()}
print("\nmIoU (%) on 200 test faces, clean and under each real-world condition alone ('mixed': all of them)")
print(f"{'training':28s}" + "".join(f"{t.replace('_', ' '):>11s}" for t in tests))
for run, name in runs.items():
    print(f"{name:28s}" + "".join(f"{table[run][t]:11.1f}" for t in tests))

fig = Figure(figsize=(9, 3.8))
ax = fig.subplots()
width = 0.8 / len(runs)
for k, (run, name) in enumerate(runs.items()):
    ax.bar([i + (k - 1) * width for i in range(len(tests))], [table[run][t] for t in tests], width, label=name)
ax.set_xticks(range(len(tests)), [t.replace("_", " ") for t in tests])
ax.set_ylabel("test mIoU (%)")
ax.set_ylim(0, 100)
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(out / "robustness.png", dpi=110)
PY
echo "robustness per condition: $out/robustness.png; training curves: $out/run_*/curves.png;"
echo "statistics and previews: $out/stats.png, $out/preview_*.png; predictions and overlays: $out/predictions/"
