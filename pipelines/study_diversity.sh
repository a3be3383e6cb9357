#!/usr/bin/env bash
# The diversity study of issues 8 and 18 (`make study-diversity`): every ARM config trained and
# evaluated with each seed at mode_seeking = 0 and at each of the arm's weights, then one table per arm
# (mean ± sample std over seeds) in $OUT/<arm>.md. Finished runs (a metric file present) are reused,
# and a run stopped half way (a checkpoint, no metrics) is resumed from its last checkpoint, so an
# interrupted study continues where it stopped.
#   usage: pipelines/study_diversity.sh OUT SEEDS ARM=WEIGHT[,WEIGHT...] [ARM=WEIGHTS ...]
#   e.g.   pipelines/study_diversity.sh runs/study "0 1 2" cdcgan-mnist=0.1,1
set -euo pipefail
out=$1 seeds=$2
shift 2
zoo=${ZOO:-.venv/bin/gansynth-zoo}
device=${DEVICE:-auto}

newest_run_with() {  # the newest run folder in $1 called $2 that holds a file matching $3, if any
    local dir
    for dir in "$1"/*-"$2"-*/; do
        if compgen -G "$dir$3" >/dev/null; then echo "${dir%/}"; fi
    done | tail -n 1
}

for arm_weight in "$@"; do
    arm=${arm_weight%%=*} weights=${arm_weight#*=}
    runs=()
    for seed in $seeds; do
        for w in 0 ${weights//,/ }; do
            name="$arm-seed$seed-ms$w"
            run=$(newest_run_with "$out/$arm" "$name" "metric-*.jsonl")
            if [ -z "$run" ]; then
                stopped=$(newest_run_with "$out/$arm" "$name" "ckpt-*.pt")
                if [ -n "$stopped" ]; then
                    train=(train --resume "$stopped")
                else
                    train=(train --config "pipelines/configs/$arm.toml" --out "$out/$arm" \
                           --set "name=\"$name\"" --set "train.seed=$seed" --set "loss.mode_seeking=$w")
                fi
                run=$("$zoo" "${train[@]}" --device "$device" | tee /dev/stderr | sed -n 's/^done: //p')
                [ -n "$run" ] || { echo "study: training $name failed" >&2; exit 1; }
                "$zoo" evaluate "$run" --device "$device"  # digits: also writes samples-grid.png
                if [ ! -e "$run/metric-digits.jsonl" ] && [ "$seed" = "${seeds%% *}" ]; then
                    "$zoo" sample "$run" --n 4 --out "$run/samples" --device "$device"
                fi
            fi
            runs+=("$run")
        done
    done
    metric=$(ls "${runs[0]}"/metric-*.jsonl | head -n 1 | sed 's/.*metric-\(.*\)\.jsonl/\1/')
    case $metric in
        digits) columns="conditional_accuracy frechet_distance pairwise_pixels pairwise_embedding ndb_k jsd" ;;
        *) columns="conditional_accuracy class_accuracy frechet_distance kid pairwise_log_mag pairwise_embedding ndb_k jsd" ;;
    esac
    args=()
    for c in $columns; do args+=(--metric "$metric.$c"); done
    "$zoo" compare "${runs[@]}" --by config.loss.mode_seeking "${args[@]}" | tee "$out/$arm.md"
done
