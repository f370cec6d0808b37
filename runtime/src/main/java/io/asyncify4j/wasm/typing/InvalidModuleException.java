package io.asyncify4j.wasm.typing;

import io.asyncify4j.wasm.binary.WasmFormatException;

/** The module decodes but does not type-check; names the function and instruction. */
public class InvalidModuleException extends WasmFormatException {
    public InvalidModuleException(String message) {
        super(message);
    }
}
