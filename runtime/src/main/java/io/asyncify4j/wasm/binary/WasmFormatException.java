package io.asyncify4j.wasm.binary;

/** Base of the typed errors raised for wasm input the project cannot accept. */
public class WasmFormatException extends RuntimeException {
    public WasmFormatException(String message) {
        super(message);
    }

    public WasmFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
