#!/usr/bin/env bash
# Execute the book's chapters on the GPU runner's image (Python 3.12, jax 0.11.2 with CUDA,
# no network): what the image lacks arrives as wheels in the carried folder, which
# `python3 stacks/runner.py prepare` makes here (wheels + the data the chapters read).
#
#   OUT=<folder that comes back> bash stacks/runner.sh SCALE [CHAPTER ...]   # default: every chapter
#
# With the device tool: carry ".carry", and run `OUT=$OUT bash stacks/runner.sh ci 01_warmup_model ...`.
# Every chapter is attempted even if one fails. $OUT gets summary.json (per chapter: seconds,
# claims holding, the error if any), runner.log, and results.tar.gz (executed notebooks, claims JSON).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
SCALE="${1:?usage: OUT=DIR bash stacks/runner.sh SCALE [CHAPTER ...]}"; shift
: "${OUT:?set OUT to the folder whose files come back}"
CARRY="$(cd "${CATAPULT_CARRY:-.carry}" && pwd)" || { echo "no carried folder: run python3 stacks/runner.py prepare"; exit 2; }
SITE="${CATAPULT_SITE:-/tmp/catapult-site}"
BUILD="${CATAPULT_RUNNER_BUILD:-/tmp/catapult-runner-build}"
mkdir -p "$OUT"
exec > >(tee "$OUT/runner.log") 2>&1

echo "== install the carried wheels into $SITE (nothing the image has is replaced)"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --disable-pip-version-check --target "$SITE" "$CARRY"/wheels/*.whl || exit 1
export PYTHONPATH="$SITE:$PWD" PYTHONUNBUFFERED=1
if compgen -G "$CARRY/data/*.npz" > /dev/null; then
  export CATAPULT_DATA_DIR="$CARRY/data"  # carried copies; without them the chapters download the data
fi
python3 -c "import sys, jax, numpy; from catapult import tangents; nt = tangents.neural_tangents(); print('python', sys.version.split()[0], '| jax', jax.__version__, jax.default_backend(), jax.devices()[0].device_kind, '| numpy', numpy.__version__, '| neural-tangents', nt.__version__)" || exit 1

if [ "$#" -eq 0 ]; then
  mapfile -t chapters < <(python3 -c "from pathlib import Path; from catapult.book import toc_notebooks; print('\n'.join(p.stem for p in toc_notebooks(Path('.'))))")
  set -- "${chapters[@]}"
fi
rm -rf "$BUILD"; mkdir -p "$BUILD"
for chapter in "$@"; do
  echo "== $chapter at $SCALE"
  python3 -m catapult build --scale "$SCALE" --no-site --force --out "$BUILD" --only "$chapter" \
    > "$BUILD/$chapter.log" 2>&1
  echo "$?" > "$BUILD/$chapter.rc"
  tail -n 3 "$BUILD/$chapter.log"
done
python3 stacks/runner.py summarize --build "$BUILD" --out "$OUT" --scale "$SCALE" "$@"
