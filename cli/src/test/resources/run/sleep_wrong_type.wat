;; env.sleep returning a value: not something --async-sleep can implement.
(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (func (export "main") (result i32) (call $sleep (i32.const 1))))
