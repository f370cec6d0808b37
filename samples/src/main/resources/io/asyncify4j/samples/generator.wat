;; A generator plugin: for each step it awaits an async host "fetch", then yields the fetched value to
;; the host (another async import, which resumes the generator when the consumer wants the next value).
(module
  (import "host" "fetch" (func $fetch (param i32) (result i32)))
  (import "host" "yield" (func $yield (param i32 i32)))
  (func (export "generate") (param $id i32) (param $count i32) (result i32)
    (local $i i32) (local $sum i32) (local $v i32)
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $v (call $fetch (i32.add (i32.mul (local.get $id) (i32.const 100)) (local.get $i))))
        (local.set $sum (i32.add (local.get $sum) (local.get $v)))
        (call $yield (local.get $id) (local.get $v))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $step)))
    (local.get $sum)))
