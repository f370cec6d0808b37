(module (func (this is not wasm)))
