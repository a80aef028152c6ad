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

echo "demo outputs in $out/: stats.png preview_tiaug.png preview_unconstrained.png"
