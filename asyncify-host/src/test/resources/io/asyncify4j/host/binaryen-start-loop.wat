;; Input of binaryen-start-loop.wasm, made with (Binaryen version 108):
;;   wasm-opt binaryen-start-loop.wat --asyncify --pass-arg=asyncify-imports@env.fetch -O -o binaryen-start-loop.wasm
;; A start function that never ends, asyncified ahead of time (AheadOfTimeAsyncifiedTest).
(module
  (import "env" "fetch" (func $fetch (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $sink (mut i32) (i32.const 0))
  (func $start
    (loop $l (global.set $sink (i32.add (global.get $sink) (call $fetch (i32.const 1)))) (br $l)))
  (start $start))
