package io.asyncify4j.asyncify;

import io.asyncify4j.wasm.binary.WasmFormatException;

/** The asyncify transform cannot be applied: bad options, unknown names, or unsupported input. */
public class AsyncifyException extends WasmFormatException {
    public AsyncifyException(String message) {
        super(message);
    }

    public AsyncifyException(String message, Throwable cause) {
        super(message, cause);
    }
}
