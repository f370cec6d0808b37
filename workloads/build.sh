#!/usr/bin/env bash
# Rebuilds the workload .wasm files from their C sources:
#   clang --target=wasm32-wasi -O2 -Wl,--strip-debug,--compress-relocations NAME.c -o NAME.wasm -lm
# --strip-debug drops the DWARF that wasi-libc's archive carries (it would dwarf the module);
# --compress-relocations writes minimal LEB128s instead of 5-byte padded ones, so that code sizes compare
# fairly with re-encoded (asyncified) output. The name section is kept.
# Installs the toolchain when it is missing (Debian: clang, lld, wasi-libc, libclang-rt-14-dev-wasm32;
# Debian's clang finds the wasi-libc headers and libraries without --sysroot); needs root or sudo for
# that. The .wasm files are committed, so the build and the tests never need this script: run it after
# changing a C source. The output is reproducible (same bytes on every run).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

builtins_ok() {
    # The wasm32 compiler-rt builtins (libclang_rt.builtins-wasm32.a) that clang links into every module.
    ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1
}
if ! command -v clang >/dev/null || ! command -v wasm-ld >/dev/null || [ ! -d /usr/include/wasm32-wasi ] || ! builtins_ok; then
    echo "build.sh: installing clang, lld, wasi-libc, libclang-rt-14-dev-wasm32" >&2
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
fi

# clang runs `wasm-opt -O2` after linking whenever it finds Binaryen's wasm-opt on PATH (it then inlines
# main into _start, among others). Keep the output independent of whether binaryen is installed: run
# clang with a PATH holding only the linker.
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
for ld in wasm-ld wasm-ld-14; do
    if command -v "$ld" >/dev/null; then ln -s "$(command -v "$ld")" "$tools/$ld"; fi
done
# Through its real path: clang also looks for wasm-opt in its own directory (/usr/bin for the symlink).
clang="$(readlink -f "$(command -v clang)")"

for src in fannkuch.c nbody.c sort_hash.c; do
    out="${src%.c}.wasm"
    PATH="$tools" "$clang" --target=wasm32-wasi -O2 -Wall -Wextra -Wl,--strip-debug,--compress-relocations -o "$out" "$src" -lm
    echo "built $out ($(wc -c < "$out") bytes)"
done
