(module
  (import "spectest" "print_i32" (func $print (param i32)))
  (memory (export "mem") 1 2)
  (global (export "answer") i32 (i32.const 42))
  (func $main (call $print (i32.const 1)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (start $main))
