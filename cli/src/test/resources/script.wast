(module
  (import "spectest" "print_f64" (func $print (param f64)))
  (func (export "twice") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "show") (call $print (f64.const 3.5))))
(invoke "show")
(assert_return (invoke "twice" (i32.const 21)) (i32.const 42))
(assert_trap (invoke "twice" (i32.const 1)) "unreachable")
