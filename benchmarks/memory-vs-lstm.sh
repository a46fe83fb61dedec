#!/usr/bin/env bash
# The memory core against the LSTM on issue 14's presets (docs/external-memory.md, "Cost"): whole training runs,
# seed 0, the LSTM preset and its memory-core twin alternating, ROUNDS times; prints each run's env steps/s (as the run
# reports it) and final evaluation. Run it on an otherwise idle machine. With --full, every run is the preset as shipped
# (its whole length, evaluations included: about 10 minutes a round on 2 cores) instead of the shortened runs.
#
#   bash benchmarks/memory-vs-lstm.sh [ROUNDS] [--full]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-2}"
full="${2:-}"
dotnet build "$repo/App" -c Release -v q -nologo >/dev/null
cli=("dotnet" "$(ls "$repo"/App/bin/Release/net10.0/*/rlmemory.dll | head -1)")
work="$(mktemp -d "${TMPDIR:-/tmp}/rlmemory-vs.XXXXXX")"
trap 'rm -rf "$work"' EXIT
quick=(--set eval_freq=0 --set eval_episodes=2)
run() {
  local name="$1"; shift
  rm -rf "$work/run"
  local line
  line="$("${cli[@]}" train "$@" --seed 0 --quiet --out "$work/run" | grep 'Final evaluation')"
  printf '%-36s %s\n' "$name" "$(sed -n 's/.* s, \([0-9,]*\) steps\/s.*/\1 env steps\/s/p' <<<"$line"), final $(sed -n 's/.*mean return \([-0-9.]*\) .*/\1/p' <<<"$line")"
}
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
for i in $(seq "$rounds"); do
  if [[ "$full" == "--full" ]]; then
    run "ppo-cartpole-novel lstm (preset)" ppo-cartpole-novel
    run "ppo-cartpole-novel memory (preset)" ppo-cartpole-novel --set core=memory
    run "ppo-tmaze (preset)" ppo-tmaze
    run "ppo-tmaze-memory (preset)" ppo-tmaze-memory
    run "r2d2-tmaze (preset)" r2d2-tmaze
    run "r2d2-tmaze-memory (preset)" r2d2-tmaze-memory
    run "r2d2-cartpole-novel lstm (preset)" r2d2-cartpole-novel
    run "r2d2-cartpole-novel memory (preset)" r2d2-cartpole-novel --set core=memory
    continue
  fi
  run "ppo-cartpole-novel lstm 100k" ppo-cartpole-novel
  run "ppo-cartpole-novel memory 100k" ppo-cartpole-novel --set core=memory
  run "ppo-tmaze 20k" ppo-tmaze --steps 20000 "${quick[@]}"
  run "ppo-tmaze-memory 20k" ppo-tmaze-memory --steps 20000 "${quick[@]}"
  run "r2d2-tmaze 10k" r2d2-tmaze --steps 10000 "${quick[@]}"
  run "r2d2-tmaze-memory 10k" r2d2-tmaze-memory --steps 10000 "${quick[@]}"
  run "r2d2-cartpole-novel lstm 20k" r2d2-cartpole-novel --steps 20000 "${quick[@]}"
  run "r2d2-cartpole-novel memory 20k" r2d2-cartpole-novel --steps 20000 "${quick[@]}" --set core=memory
done
