;; The pure-wasm asyncify example: main prints 1, sleeps (unwinds to the runtime), the runtime
;; prints 2 and rewinds, main prints 3. Transformed (asyncified) it prints 1 2 3; run without the
;; transform it cannot pause, so the order is wrong.
(module
  (import "spectest" "print" (func $print (param i32)))
  (import "asyncify" "start_unwind" (func $asyncify_start_unwind (param i32)))
  (import "asyncify" "stop_unwind" (func $asyncify_stop_unwind))
  (import "asyncify" "start_rewind" (func $asyncify_start_rewind (param i32)))
  (import "asyncify" "stop_rewind" (func $asyncify_stop_rewind))
  (memory 1 1)
  (global $sleeping (mut i32) (i32.const 0))
  (start $runtime)
  (func $main
    (call $print (i32.const 1))
    (call $sleep)
    (call $print (i32.const 3)))
  (func $sleep
    (if (i32.eqz (global.get $sleeping))
      (then
        ;; Start to sleep: the data structure at 16 describes the asyncify stack [24, 1024).
        (global.set $sleeping (i32.const 1))
        (i32.store (i32.const 16) (i32.const 24))
        (i32.store (i32.const 20) (i32.const 1024))
        (call $asyncify_start_unwind (i32.const 16)))
      (else
        ;; Resume after the sleep.
        (call $asyncify_stop_rewind)
        (global.set $sleeping (i32.const 0)))))
  (func $runtime
    ;; Call main the first time and let the stack unwind.
    (call $main)
    (call $asyncify_stop_unwind)
    ;; Anything can happen while main is paused.
    (call $print (i32.const 2))
    ;; Rewind: call main again; it resumes where it paused.
    (call $asyncify_start_rewind (i32.const 16))
    (call $main)))
