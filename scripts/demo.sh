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
tiaug stats "$out/train.h5" "$out/train_tiaug.h5" "$out/test_unconstrained.h5" --png "$out/stats.png" --overwrite

echo "== 4. previews with a thermal colour map, masks and occluder outlines"
tiaug preview "$out/train_tiaug.h5" --png "$out/preview_tiaug.png" -n 8 --seed 0 --overwrite
tiaug preview "$out/test_unconstrained.h5" --png "$out/preview_unconstrained.png" -n 8 --seed 0 --overwrite


echo "== 5. two small training runs on the CPU: Dice + TiAug, without and with SAM-CL (UNet, base width 8)"
# Dice converges within a CPU budget of minutes; the paper's RMI base loss needs many more steps (--loss rmi).
for recipe in no-samcl samcl; do
  rm -rf "$out/run_$recipe"
  samcl-train --data "$out/train.h5" --val "$out/val.h5" --out "$out/run_$recipe" --model unet \
    --model-arg base_width=8 --loss dice "--$recipe" --crop "$size" --iters 500 --batch-size 8 --lr 0.05 \
    --val-every 100 --checkpoint-every 100 --workers 1 --device auto
done

echo "== 6. evaluation on clean and unconstrained (glasses, hands, masks, hot rooms) test faces"
for recipe in no-samcl samcl; do
  for split in test test_unconstrained; do
    samcl-eval --checkpoint "$out/run_$recipe/best.pt" --data "$out/$split.h5" \
      --json "$out/eval_${recipe}_$split.json" --overwrite
  done
done
samcl-predict --checkpoint "$out/run_no-samcl/best.pt" "$out/test_unconstrained.h5" --out "$out/predictions" \
  --overwrite --no-progress

python - "$out" <<'PY'
import json, sys
out = sys.argv[1]
print("\nmIoU (%)                 clean test faces   unconstrained test faces")
for recipe, name in (("no-samcl", "Dice + TiAug"), ("samcl", "Dice + TiAug + SAM-CL")):
    clean, wild = (json.load(open(f"{out}/eval_{recipe}_{split}.json"))["miou"] for split in ("test", "test_unconstrained"))
    print(f"{name:24s} {100 * clean:16.1f} {100 * wild:26.1f}")
PY
echo "training curves: $out/run_*/curves.png; predictions and overlays: $out/predictions/"
