#!/usr/bin/env bash
# The main job end to end on built-in synthetic thermal faces (run by `make demo`).
# Usage: scripts/demo.sh [OUT_DIR]   (the tiaug/samcl commands must be on PATH, e.g. .venv/bin)
set -euo pipefail
out=${1:-demo_out}
mkdir -p "$out"
size=128x160

echo "== 1. synthetic thermal faces (degrees Celsius, 6-class masks, 68 landmarks)"
tiaug synth "$out/train.h5" -n 400 --size "$size" --seed 1 --overwrite
tiaug synth "$out/val.h5" -n 60 --size "$size" --seed 2 --overwrite
tiaug synth "$out/test.h5" -n 100 --size "$size" --seed 3 --overwrite
tiaug synth "$out/test_unconstrained.h5" -n 100 --size "$size" --seed 3 --unconstrained --overwrite

echo "== 2. TiAug: occluders + thermal noise, two copies per face, with provenance"
tiaug augment "$out/train.h5" "$out/train_tiaug.h5" --copies 2 --seed 0 --workers 2 --overwrite

echo "== 3. foreground/background temperatures before and after TiAug (the poster's box plots)"
tiaug stats "$out/train.h5" "$out/train_tiaug.h5" "$out/test_unconstrained.h5" --png "$out/stats.png"

echo "== 4. previews with a thermal colour map, masks and occluder outlines"
tiaug preview "$out/train_tiaug.h5" --png "$out/preview_tiaug.png" -n 8 --seed 0
tiaug preview "$out/test_unconstrained.h5" --png "$out/preview_unconstrained.png" -n 8 --seed 0


echo "== 5. a small SAM-CL training run on the CPU (UNet, Dice + 0.5 x SAM-CL, TiAug on the fly)"
# Dice converges within a CPU budget of minutes; the paper's RMI base loss needs many more steps (--loss rmi).
rm -rf "$out/run"
samcl-train --data "$out/train.h5" --val "$out/val.h5" --out "$out/run" --model unet --model-arg base_width=8 \
  --loss dice --crop "$size" --iters 500 --batch-size 8 --lr 0.05 --val-every 100 --checkpoint-every 100 \
  --workers 1 --device auto

echo "== 6. evaluation on clean and unconstrained (glasses, hands, masks, hot rooms) test faces"
samcl-eval --checkpoint "$out/run/best.pt" --data "$out/test.h5" --json "$out/eval_clean.json" --overwrite
samcl-eval --checkpoint "$out/run/best.pt" --data "$out/test_unconstrained.h5" \
  --json "$out/eval_unconstrained.json" --overwrite
samcl-predict --checkpoint "$out/run/best.pt" "$out/test_unconstrained.h5" --out "$out/predictions" --overwrite \
  --no-progress

python - "$out" <<'PY'
import json, sys
out = sys.argv[1]
clean = json.load(open(f"{out}/eval_clean.json"))["miou"]
wild = json.load(open(f"{out}/eval_unconstrained.json"))["miou"]
print(f"\nmIoU on clean synthetic test faces:         {100 * clean:.1f} %")
print(f"mIoU on unconstrained synthetic test faces: {100 * wild:.1f} %")
PY
echo "training curves: $out/run/curves.png; predictions and overlays: $out/predictions/"
