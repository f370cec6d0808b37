package io.asyncify4j.wasm.model;

/** The type of a linear memory. */
public record MemoryType(Limits limits) {}
