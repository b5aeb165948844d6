#!/usr/bin/env bash
# Sweeps every mutant (tools/mutants/*.mutant) until its first failing seed and prints the table
# of docs/simulation.md: which scenario caught which deliberate bug, after how many seeds, and by
# which check. `make mutants` builds the mutants and runs this; it is not part of CI (the proof
# mutants are: ctest label "proof").
#
#   tools/mutants/run.sh [--build-dir DIR] [--seeds N] [--jobs J] [--seed-time-limit S] [MUTANT...]
#
# A mutant counts as caught when a seed of its scenario fails a check or crashes the simulator
# (an assertion in the core is a catch too) within N seeds (default 2000). Exit status: 0 when
# every mutant swept was caught, 1 otherwise, 2 for bad usage.
set -euo pipefail
cd "$(dirname "$0")/../.."

build_dir=build
seeds=2000
jobs=$(nproc 2>/dev/null || echo 2)
seed_time_limit=120
mutants=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --seed-time-limit) seed_time_limit=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) mutants+=("$1"); shift ;;
  esac
done
if [ ${#mutants[@]} -eq 0 ]; then
  for spec in tools/mutants/*.mutant; do mutants+=("$(basename "$spec" .mutant)"); done
fi

field() { sed -n "s/^$2: *//p" "tools/mutants/$1.mutant" | head -1; }
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT

printf '| mutant | file | scenario | seeds to first failure | caught by |\n|---|---|---|---|---|\n'
missed=0
firsts=()
for name in "${mutants[@]}"; do
  spec=tools/mutants/$name.mutant
  [ -f "$spec" ] || { echo "run.sh: no mutant $name ($spec)" >&2; exit 2; }
  binary=$build_dir/mutants/cairn-sim-mutant-$name
  [ -x "$binary" ] || { echo "run.sh: $binary is not built (make mutants builds it)" >&2; exit 2; }
  scenario=$(field "$name" scenario)
  status=0
  json=$("$binary" sweep "scenarios/$scenario.textproto" --seeds "1..$seeds" --jobs "$jobs" \
           --seed-time-limit "$seed_time_limit" --stop-at-first-failure --json --no-histories 2>"$errors") || status=$?
  if [ "$status" -gt 1 ] || ! printf '%s' "$json" | grep -q '"runs":'; then
    echo "run.sh: the sweep of $name did not run (exit $status): $(tail -2 "$errors")" >&2
    exit 2
  fi
  first=$(printf '%s' "$json" | sed -n 's/.*"first_failing_seed":\([0-9]*\).*/\1/p')
  if [ -z "$first" ]; then
    missed=$((missed + 1))
    printf '| %s | `%s` | %s | not caught in %s | — |\n' "$name" "$(field "$name" file)" "$scenario" "$seeds"
    continue
  fi
  firsts+=("$first")
  # The first failure's checks, or how it crashed, and the start of its explanation (JSON
  # escapes and table bars taken out).
  first_failure=$(printf '%s' "$json" | sed -n 's/.*"failures":\[{\(.*\)/\1/p')
  checks=$(printf '%s' "$first_failure" | sed -n 's/^[^]]*"failed_checks":\[\([^]]*\)\].*/\1/p' | tr -d '"' | sed 's/,/, /g')
  detail=$(printf '%s' "$first_failure" | sed -n 's/^[^]]*\],"detail":"//p' | sed 's/\([^\\]\)",".*/\1/' |
           sed 's/\\"/"/g; s/\\n/ /g; s/|/\//g' |
           cut -c1-70)
  if printf '%s' "$first_failure" | grep -q '^"seed":[0-9]*,"crashed":true'; then checks="crash"; fi
  printf '| %s | `%s` | %s | %s | %s: %s… |\n' "$name" "$(field "$name" file)" "$scenario" "$first" \
    "${checks:-?}" "$detail"
done

# The median over every mutant swept, a mutant never caught counting as more than the budget.
for ((i = 0; i < missed; ++i)); do firsts+=("$((seeds + 1))"); done
median=$(printf '%s\n' "${firsts[@]}" | sort -n | awk -v budget="$seeds" '
  {a[NR] = $1}
  END {m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; print (m > budget ? "more than " budget : m)}')
printf '\n%d of %d mutants caught within %s seeds; median seeds to first failure: %s\n' \
  "$(( ${#mutants[@]} - missed ))" "${#mutants[@]}" "$seeds" "$median"
[ "$missed" -eq 0 ]
