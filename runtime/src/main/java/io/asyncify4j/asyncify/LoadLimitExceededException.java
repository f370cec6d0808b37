package io.asyncify4j.asyncify;

import io.asyncify4j.wasm.binary.WasmFormatException;

/**
 * A module exceeds one of the {@link LoadLimits}: names the limit, the value found (or reached when
 * the check stopped counting), the maximum, and the function index when the limit is per function.
 */
public class LoadLimitExceededException extends WasmFormatException {
    private final String limit;
    private final long value;
    private final long maximum;
    private final int functionIndex;

    public LoadLimitExceededException(String limit, long value, long maximum, int functionIndex) {
        super("load limit exceeded: " + limit + " " + value + " is above the maximum " + maximum
                + (functionIndex >= 0 ? " (function " + functionIndex + ")" : "")
                + "; raise it through AsyncifyOptions.Builder.loadLimits if the module is trusted");
        this.limit = limit;
        this.value = value;
        this.maximum = maximum;
        this.functionIndex = functionIndex;
    }

    /** Which limit, one of the name constants of {@link LoadLimits} (such as {@link LoadLimits#NESTING_DEPTH}). */
    public String limit() {
        return limit;
    }

    /** The value found, or the count reached when the check stopped. */
    public long value() {
        return value;
    }

    public long maximum() {
        return maximum;
    }

    /** The function index (imports counted first), or -1 when the limit is not per function. */
    public int functionIndex() {
        return functionIndex;
    }
}
