#!/usr/bin/env bash
# Frame pacing of the desktop viewer (docs/viewer.md, "Frame pacing"): plays an agent in the raylib window for SECONDS
# (default 12: about 600 frames of CartPole at its 50 steps a second) on a virtual X display (Xvfb, Mesa's software
# OpenGL), closes it with Q, and prints the viewer's own count of frames and environment steps per second.
#
#   bash benchmarks/viewer-pacing.sh [AGENT_OR_RUN] [SECONDS] [-- extra watch options, e.g. --speed 2]
#
# Without an agent it trains dqn-cartpole for 3,000 steps first. Needs raylib (bash build/raylib.sh), xvfb and xdotool.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
agent="${1:-}"
seconds="${2:-12}"
shift $(( $# > 2 ? 2 : $# ))
[ "${1:-}" = "--" ] && shift

dotnet build "$repo/App" -c Release -v q -nologo >/dev/null
cli=("dotnet" "$(ls "$repo"/App/bin/Release/net10.0/*/rlmemory.dll | head -1)")
work="$(mktemp -d "${TMPDIR:-/tmp}/rlmemory-pacing.XXXXXX")"
trap 'kill "$xvfb" 2>/dev/null || true; rm -rf "$work"' EXIT
if [ -z "$agent" ]; then
  "${cli[@]}" train dqn-cartpole --seed 0 --steps 3000 --quiet --out "$work/run" >/dev/null
  agent="$work/run"
fi

display=":$(( 500 + RANDOM % 300 ))"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 & xvfb=$!
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done
export DISPLAY="$display"

"${cli[@]}" watch "$agent" --window "$@" >"$work/out.txt" 2>&1 & viewer=$!
for _ in $(seq 300); do window="$(xdotool search --name RlMemory 2>/dev/null | head -1)" && [ -n "$window" ] && break; sleep 0.1; done
[ -n "${window:-}" ] || { cat "$work/out.txt" >&2; echo "error: no viewer window appeared" >&2; exit 1; }
sleep "$seconds"
xdotool windowfocus "$window" keydown q; sleep 0.15; xdotool keyup q
wait "$viewer"
grep "Window closed" "$work/out.txt"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
