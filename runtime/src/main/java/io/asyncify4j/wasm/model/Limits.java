package io.asyncify4j.wasm.model;

/** Limits of a memory or table; {@code max} is -1 when absent. */
public record Limits(long min, long max, boolean shared, boolean address64) {
    public boolean hasMax() {
        return max >= 0;
    }
}
