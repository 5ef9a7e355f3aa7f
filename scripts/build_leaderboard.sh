#!/usr/bin/env bash
# Populate a board and build its static site, showing the board as soon as there is something to show:
#   1. import every published per-sample output the board lists (skipped when already imported),
#      and build the site from them: open it while the rest runs;
#   2. run the embedded model on a small subset of each task (resumes; never regenerates a sample;
#      several sequences at a time), then build the site again (only the changed cells are redone).
# The site is one folder that opens from disk or any sub-path.
#
#   scripts/build_leaderboard.sh                      # the Qwen2.5-Max launch board
#   LIMIT=50 SITE=public scripts/build_leaderboard.sh
#
# Settings (environment): BOARD, HARNESS_DATA_DIR (../shared/data), HARNESS_OUTPUT_DIR (results),
# SITE (site-build), LIMIT (14: one MMLU-Pro question per category), EPOCHS (1), MAX_TOKENS (512),
# PYTHON (python3). Extra arguments are passed to `harness board populate` (e.g. --entry gpt-4o).
set -euo pipefail
cd "$(dirname "$0")/.."

BOARD=${BOARD:-leaderboards/qwen2.5-max-launch.yaml}
DATA_DIR=${HARNESS_DATA_DIR:-../shared/data}
RESULTS=${HARNESS_OUTPUT_DIR:-results}
SITE=${SITE:-site-build}
PYTHON=${PYTHON:-python3}

"$PYTHON" -m harness.cli board populate "$BOARD" --data-dir "$DATA_DIR" --runs "$RESULTS" --imports-only
"$PYTHON" -m harness.cli site build "$BOARD" --runs "$RESULTS" -o "$SITE"
echo "the board from the published results is ready: open $SITE/index.html (our own runs follow)"
"$PYTHON" -m harness.cli board populate "$BOARD" --data-dir "$DATA_DIR" --runs "$RESULTS" \
  --limit "${LIMIT:-14}" --epochs "${EPOCHS:-1}" --max-tokens "${MAX_TOKENS:-512}" "$@"
"$PYTHON" -m harness.cli board show "$BOARD" --runs "$RESULTS"
"$PYTHON" -m harness.cli site build "$BOARD" --runs "$RESULTS" -o "$SITE"
echo "open $SITE/index.html, or: $PYTHON -m harness.cli site serve $SITE"
