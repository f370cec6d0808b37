;; Input of binaryen-hostile.wasm, made with (Binaryen version 108):
;;   wasm-opt binaryen-hostile.wat --enable-bulk-memory --asyncify --pass-arg=asyncify-imports@env.fetch -O \
;;     -o binaryen-hostile.wasm
;; Hostile guests asyncified ahead of time: the host must still stop them (AheadOfTimeAsyncifiedTest).
(module
  (import "env" "fetch" (func $fetch (param i32) (result i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 1024))
  (global $sink (mut i32) (i32.const 0))
  (func (export "alloc") (param $size i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (local.get $p))
  ;; an allocator with a loop (it clears what it hands out): metered, so its checks run outside any call
  (func (export "alloc_clearing") (param $size i32) (result i32) (local $p i32) (local $i i32)
    (local.set $p (global.get $heap))
    (loop $l
      (i32.store8 (i32.add (local.get $p) (local.get $i)) (i32.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $size))))
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (local.get $p))
  ;; an allocator that never returns
  (func (export "alloc_forever") (param $size i32) (result i32)
    (loop $l (br $l))
    (i32.const 0))
  ;; loops forever, closed by br
  (func (export "spin")
    (loop $l (global.set $sink (i32.add (global.get $sink) (i32.const 1))) (br $l)))
  ;; loops forever, closed by br_if
  (func (export "spin_br_if")
    (loop $l (global.set $sink (i32.add (global.get $sink) (i32.const 1)))
      (br_if $l (i32.ne (global.get $sink) (i32.const -7)))))
  ;; suspends in env.fetch, then loops forever once resumed
  (func (export "fetch_then_spin") (result i32)
    (drop (call $fetch (i32.const 1)))
    (loop $l (global.set $sink (i32.add (global.get $sink) (i32.const 1))) (br $l))
    (i32.const 0))
  ;; sums fetch(i) for i in [0, n): suspends n times inside a loop
  (func (export "sum_fetches") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (call $fetch (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $acc))
  ;; fills the same 64 KiB again and again
  (func (export "fill_forever")
    (loop $l (memory.fill (i32.const 0) (i32.const 0) (i32.const 65536)) (br $l)))
  ;; recursion without end (the engine's stack runs out, or the budget)
  (func $rec (export "rec") (param $n i32) (result i32)
    (i32.add (i32.const 1) (call $rec (i32.add (local.get $n) (i32.const 1))))))
