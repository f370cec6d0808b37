#!/usr/bin/env bash
# Rebuilds the fixtures of the `run` command's tests (RunCommandTest):
#
#   demo.wasm                    demo.c, a WASI command: prints argv, environ, a file (--cat PATH)
#   reactor.wasm                 reactor.c, a WASI reactor (-mexec-model=reactor): exports _initialize
#   sleep_loop.wasm              sleep_loop.c, printf + env.sleep loop (the Asyncify blog's C example)
#   sleep_loop.binaryen.wasm     sleep_loop.c linked with malloc exported, then asyncified by Binaryen:
#                                wasm-opt --asyncify --pass-arg=asyncify-imports@env.sleep -O1
#   sleep_fixed.binaryen.wasm    sleep_fixed.wat (env.sleep taking i64), asyncified by Binaryen the same way
#
# All C at -O2 (clang --target=wasm32-wasi; Debian's clang finds wasi-libc without --sysroot).
# Installs the toolchain when it is missing (Debian: clang, lld, wasi-libc, libclang-rt-14-dev-wasm32,
# binaryen, wabt); needs root or sudo for that. The .wasm files are committed, so the build and the
# tests never need this script: run it after changing a source. The output is reproducible.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

builtins_ok() {
    # The wasm32 compiler-rt builtins (libclang_rt.builtins-wasm32.a) that clang links into every module.
    ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1
}
if ! command -v clang >/dev/null || ! command -v wasm-ld >/dev/null || [ ! -d /usr/include/wasm32-wasi ] \
        || ! builtins_ok || ! command -v wasm-opt >/dev/null || ! command -v wat2wasm >/dev/null; then
    echo "build.sh: installing clang, lld, wasi-libc, libclang-rt-14-dev-wasm32, binaryen, wabt" >&2
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32 binaryen wabt
fi

# clang runs Binaryen's wasm-opt after linking at -O1 and above whenever it finds it on PATH. Keep the
# output independent of whether binaryen is installed: run clang with a PATH holding only the linker,
# and through its real path (it also looks for wasm-opt in its own directory).
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
for ld in wasm-ld wasm-ld-14; do
    if command -v "$ld" >/dev/null; then ln -s "$(command -v "$ld")" "$tools/$ld"; fi
done
clang="$(readlink -f "$(command -v clang)")"
cc() {
    PATH="$tools" "$clang" --target=wasm32-wasi -O2 -Wall -Wextra -Werror -Wl,--strip-debug "$@"
}

cc -o demo.wasm demo.c
cc -mexec-model=reactor -o reactor.wasm reactor.c
cc -o sleep_loop.wasm sleep_loop.c
cc -Wl,--export=malloc -o "$tools/sleep_loop-malloc.wasm" sleep_loop.c
wasm-opt --asyncify --pass-arg=asyncify-imports@env.sleep -O1 -o sleep_loop.binaryen.wasm "$tools/sleep_loop-malloc.wasm"
wat2wasm -o "$tools/sleep_fixed.wasm" sleep_fixed.wat
wasm-opt --asyncify --pass-arg=asyncify-imports@env.sleep -O1 -o sleep_fixed.binaryen.wasm "$tools/sleep_fixed.wasm"
for f in demo.wasm reactor.wasm sleep_loop.wasm sleep_loop.binaryen.wasm sleep_fixed.binaryen.wasm; do
    echo "built $f ($(wc -c < "$f") bytes)"
done
