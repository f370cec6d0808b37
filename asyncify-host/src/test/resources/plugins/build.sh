#!/usr/bin/env bash
# Rebuilds the C plugin fixtures of the asyncify-host tests from plugin.c, as WASI reactors
# (-mexec-model=reactor: the module exports _initialize, to call once before handle, and no _start):
#
#   plugin-O0.wasm                 -O0, name section kept, __stack_pointer not exported
#   plugin-O0-stripped.wasm        -O0, no name section (-Wl,--strip-all)
#   plugin-O0-export.wasm          -O0, name section, __stack_pointer exported (-Wl,--export=__stack_pointer)
#   plugin-O0-export-stripped.wasm -O0, no name section, __stack_pointer exported
#   plugin-O2*.wasm                the same four at -O2
#   plugin-O0-malloc.wasm          -O0, no name section, malloc and free exported (to allocate a shadow
#   plugin-O2-malloc.wasm          stack per call from the host), and the same at -O2
#
# In every variant the stack pointer is global 0. Exporting a mutable global needs the mutable-globals
# feature (-mmutable-globals), which wasm-ld checks in the inputs.
# Installs the toolchain when it is missing (Debian: clang, lld, wasi-libc, libclang-rt-14-dev-wasm32);
# needs root or sudo for that. The .wasm files are committed, so the build and the tests never need
# this script: run it after changing plugin.c. The output is reproducible (same bytes on every run).
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

# clang runs Binaryen's `wasm-opt` after linking at -O1 and above whenever it finds it on PATH (which
# also drops the name section). Keep the output independent of whether binaryen is installed: run
# clang with a PATH holding only the linker, and clang through its real path (it also looks for
# wasm-opt in its own directory).
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
for ld in wasm-ld wasm-ld-14; do
    if command -v "$ld" >/dev/null; then ln -s "$(command -v "$ld")" "$tools/$ld"; fi
done
clang="$(readlink -f "$(command -v clang)")"

for opt in O0 O2; do
    for exported in no yes; do
        for stripped in no yes; do
            name="plugin-$opt"
            flags=(--target=wasm32-wasi "-$opt" -mexec-model=reactor -Wall -Wextra -Werror)
            if [ "$exported" = yes ]; then
                name="$name-export"
                flags+=(-mmutable-globals -Wl,--export=__stack_pointer)
            fi
            if [ "$stripped" = yes ]; then
                name="$name-stripped"
                flags+=(-Wl,--strip-all)
            else
                flags+=(-Wl,--strip-debug)
            fi
            PATH="$tools" "$clang" "${flags[@]}" -o "$name.wasm" plugin.c
            echo "built $name.wasm ($(wc -c < "$name.wasm") bytes)"
        done
    done
done
for opt in O0 O2; do
    PATH="$tools" "$clang" --target=wasm32-wasi "-$opt" -mexec-model=reactor -Wall -Wextra -Werror -Wl,--strip-all \
        -Wl,--export=malloc,--export=free -o "plugin-$opt-malloc.wasm" plugin.c
    echo "built plugin-$opt-malloc.wasm ($(wc -c < "plugin-$opt-malloc.wasm") bytes)"
done
