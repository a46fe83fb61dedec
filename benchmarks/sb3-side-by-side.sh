#!/usr/bin/env bash
# Side by side with Stable-Baselines3 (docs/benchmarks.md, "Side by side with SB3"): alternates whole training runs
# of an RlMemory preset and of SB3 / sb3-contrib with the same hyperparameters (rl-baselines3-zoo 2.4's, through its
# own train entry point), on this machine, and prints each run's env steps/s (evaluations included) and final
# evaluation, the medians and their ratio.
#
#   bash benchmarks/sb3-side-by-side.sh PRESET SB3_ALGO SB3_ENV [PAIRS] [-- extra SB3 flags]
#   bash benchmarks/sb3-side-by-side.sh dqn-cartpole dqn CartPole-v1 3
#   bash benchmarks/sb3-side-by-side.sh ppo-cartpole-novel ppo_lstm CartPoleNoVel-v1 3
#   RLMEMORY_ARGS="--set core=memory" bash benchmarks/sb3-side-by-side.sh ppo-cartpole-novel ppo_lstm CartPoleNoVel-v1 3
#
# RLMEMORY_ARGS: extra flags for RlMemory's side only (the memory core against sb3-contrib's LSTM, as issue 14 asks).
#
# Needs an SB3 installation driven by the reference harness: $SB3_REFERENCE (a command like ../shared/reference/sb3,
# taking ALGO ENV SEED and printing a "RESULT {json} final_mean ..." line), default ../shared/reference/sb3 beside the
# repository. Both sides evaluate every 5,000 steps over 10 episodes and at the end. Run it on an otherwise idle machine.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
preset="${1:?preset}"; algo="${2:?SB3 algo}"; env="${3:?SB3 env}"; pairs="${4:-3}"
shift $(( $# >= 4 ? 4 : 3 )); [ "${1:-}" = "--" ] && shift
sb3="${SB3_REFERENCE:-$repo/../shared/reference/sb3}"
[ -x "$sb3" ] || { echo "error: no SB3 reference harness at $sb3 (set SB3_REFERENCE)" >&2; exit 2; }

dotnet build "$repo/App" -c Release -v q -nologo >/dev/null
cli=("dotnet" "$(ls "$repo"/App/bin/Release/net10.0/*/rlmemory.dll | head -1)")
work="$(mktemp -d "${TMPDIR:-/tmp}/rlmemory-sb3.XXXXXX")"
trap 'rm -rf "$work"' EXIT

ours=(); theirs=()
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
for i in $(seq "$pairs"); do
  seed=$(( i - 1 ))
  line="$("${cli[@]}" train "$preset" ${RLMEMORY_ARGS:-} --seed "$seed" --set eval_freq=5000 --set eval_episodes=10 --quiet --out "$work/run$i" | grep 'Final evaluation')"
  rate="$(sed -n 's/.* s, \([0-9,]*\) steps\/s.*/\1/p' <<<"$line" | tr -d ,)"
  final="$(sed -n 's/.*mean return \([-0-9.]*\) .*/\1/p' <<<"$line")"
  ours+=("$rate"); echo "pair $i  RlMemory $preset ${RLMEMORY_ARGS:+$RLMEMORY_ARGS }seed $seed: $rate env steps/s, final $final"
  result="$(OUT="$work/sb3-$i" "$sb3" "$algo" "$env" "$seed" "$@" 2>/dev/null | grep '^RESULT')"
  rate="$(sed -n 's/.*"fps_incl_eval": \([0-9.]*\).*/\1/p' <<<"$result")"
  final="$(sed -n 's/.*final_mean \([-0-9.]*\).*/\1/p' <<<"$result")"
  theirs+=("${rate%.*}"); echo "pair $i  SB3 $algo $env seed $seed: ${rate%.*} env steps/s, final $final"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
m1="$(median "${ours[@]}")"; m2="$(median "${theirs[@]}")"
echo "median: RlMemory $m1, SB3 $m2 env steps/s; ratio $(awk -v a="$m1" -v b="$m2" 'BEGIN {printf "%.2f", a / b}')x"
