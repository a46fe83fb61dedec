#!/usr/bin/env bash
# Throughput under contention (docs/benchmarks.md, "Contention"): trains each preset twice, on an idle machine and
# while another process keeps one core busy (`yes > /dev/null`), and prints env steps/s of both and their ratio.
#
#   bash benchmarks/contention.sh [PRESET ...] [-- extra train options, e.g. --set torch_threads=2]
#
# Without presets it runs every shipped one. Each run is short (a budget per algorithm, below, past learning_starts),
# with evaluation only at the end; steps/s is the run's own figure (learning and the final evaluation included).
# Measure on an otherwise idle machine: the "idle" runs assume nothing else is running.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
presets=(); extra=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; extra=("$@"); break; fi
  presets+=("$1"); shift
done

dotnet build "$repo/App" -c Release -v q -nologo >/dev/null
cli=("dotnet" "$(ls "$repo"/App/bin/Release/net10.0/*/rlmemory.dll | head -1)")
[ ${#presets[@]} -gt 0 ] || mapfile -t presets < <("${cli[@]}" list presets | awk '{print $1}')
work="$(mktemp -d "${TMPDIR:-/tmp}/rlmemory-contention.XXXXXX")"
busy=""
trap '[ -n "$busy" ] && kill "$busy" 2>/dev/null; rm -rf "$work"' EXIT

steps_for() {
  case "$1" in
    *memory*) echo 10000 ;;
    dqn-*) echo 20000 ;;
    r2d2-*) echo 10000 ;;
    ppo-*) echo 40000 ;;
  esac
}

rate() {   # preset -> env steps/s of one run
  local out="$work/run-$RANDOM"
  "${cli[@]}" train "$1" --seed 0 --steps "$(steps_for "$1")" --set eval_freq=0 --set eval_episodes=2 --quiet --out "$out" "${extra[@]}" \
    | sed -n 's/.* s, \([0-9,]*\) steps\/s.*/\1/p' | tr -d ,
  rm -rf "$out"
}

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; options: ${extra[*]:-(none)}"
printf '%-22s %10s %10s %7s\n' preset idle busy kept
for preset in "${presets[@]}"; do
  idle="$(rate "$preset")"
  yes > /dev/null & busy=$!
  sleep 1
  loaded="$(rate "$preset")"
  kill "$busy"; wait "$busy" 2>/dev/null || true; busy=""
  printf '%-22s %10s %10s %6s%%\n' "$preset" "$idle" "$loaded" "$(( 100 * loaded / idle ))"
done
