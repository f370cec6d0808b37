#!/usr/bin/env bash
# Regenerates the random-module corpus of DifferentialTest (adversarial/src/test/resources/random/):
# binaryen's translate-to-fuzz mode (wasm-opt -ttf) turns deterministic pseudo-random bytes into valid
# modules (imports fuzzing-support.log-*, exported functions, a hang limit that bounds every run).
# The build does not need binaryen: the generated modules are committed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/../src/test/resources/random"
count="${1:-40}"
if ! command -v wasm-opt >/dev/null 2>&1; then
  echo "wasm-opt not found: installing binaryen with apt-get" >&2
  apt-get update -q && apt-get install -y -q binaryen
fi
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for i in $(seq -w 1 "$count"); do
  : > "$tmp/input"
  # 4,096 deterministic bytes per module: SHA-256 of "asyncify4j-random-<i>-<j>".
  for j in $(seq 1 128); do
    printf 'asyncify4j-random-%s-%s' "$i" "$j" | sha256sum | cut -c1-64 | xxd -r -p >> "$tmp/input"
  done
  wasm-opt -ttf "$tmp/input" -o "$out/random-$i.wasm"
done
ls -l "$out" | tail -n +2 | awk '{s+=$5} END {print NR " modules, " s " bytes"}'
