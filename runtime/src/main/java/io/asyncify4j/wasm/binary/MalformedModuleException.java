package io.asyncify4j.wasm.binary;

/** The bytes handed in are not a well-formed wasm binary; names the byte offset where decoding failed. */
public class MalformedModuleException extends WasmFormatException {
    private final long offset;

    public MalformedModuleException(String message, long offset) {
        super(message + " (at byte offset " + offset + ")");
        this.offset = offset;
    }

    /** Byte offset into the module at which the problem was found. */
    public long offset() {
        return offset;
    }
}
