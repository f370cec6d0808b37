;; Input of binaryen-asyncified.wasm, made with (Binaryen version 108):
;;   wasm-opt binaryen-input.wat --asyncify --pass-arg=asyncify-imports@env.fetch -O -o binaryen-asyncified.wasm
;; "deep" recurses n times, then awaits env.fetch; the results add up on the way back.
(module
  (import "env" "fetch" (func $fetch (param i32) (result i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 1024))
  ;; A bump allocator: the host asks it for the asyncify data region.
  (func (export "alloc") (param $size i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (local.get $p))
  (func $deep (export "deep") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (call $fetch (i32.const 1)))
      (else (i32.add (local.get $n) (call $deep (i32.sub (local.get $n) (i32.const 1))))))))
