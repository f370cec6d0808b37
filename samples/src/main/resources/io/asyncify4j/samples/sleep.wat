;; The JavaScript example of the Asyncify blog post, for asyncify4j: main calls before, sleeps for
;; two seconds through an async import, then calls after. The host is free while main sleeps.
(module
  (import "env" "before" (func $before))
  (import "env" "sleep" (func $sleep (param i32)))
  (import "env" "after" (func $after))
  (memory (export "memory") 1 1)
  (func (export "main")
    (call $before)
    (call $sleep (i32.const 2000))
    (call $after)))
