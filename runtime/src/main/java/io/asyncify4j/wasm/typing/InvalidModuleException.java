package io.asyncify4j.wasm.typing;

import io.asyncify4j.wasm.binary.WasmFormatException;

/**
 * The module decodes but does not validate. The message names the problem and where it is; for a
 * problem in a function body, {@link #functionIndex()} and {@link #offset()} locate it.
 */
public class InvalidModuleException extends WasmFormatException {
    private final int functionIndex;
    private final long offset;

    /** A module-level problem (no function involved); the message names the offending item. */
    public InvalidModuleException(String message) {
        this(message, -1, -1);
    }

    /**
     * @param functionIndex the function (in the function index space), or -1
     * @param offset the instruction's position in the function body (see {@link #offset()}), or -1
     */
    public InvalidModuleException(String message, int functionIndex, long offset) {
        super(functionIndex >= 0 && !message.contains("function " + functionIndex)
                ? "function " + functionIndex + (offset >= 0 ? " instruction " + offset : "") + ": " + message
                : message);
        this.functionIndex = functionIndex;
        this.offset = offset;
    }

    /** The function (in the function index space) whose body is invalid, or -1. */
    public int functionIndex() {
        return functionIndex;
    }

    /**
     * Where in the function body: the ordinal of the offending instruction in a pre-order walk of the
     * structured body (0 = first instruction; a block, loop, if or try_table counts once, before its
     * body), or -1 when not applicable (module-level problems, a function's end or signature).
     */
    public long offset() {
        return offset;
    }
}
