;; A hand-written loop sleeping through env.sleep (i64 milliseconds), asyncified by Binaryen in
;; build.sh; it leaves bytes 1024 onwards of its memory unused, for --asyncify-data 1024:4096.
(module
  (import "env" "sleep" (func $sleep (param i64)))
  (import "spectest" "print_i32" (func $print (param i32)))
  (memory (export "memory") 1)
  (func (export "main") (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (call $print (local.get $i))
        (call $sleep (i64.const 100))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i)))
