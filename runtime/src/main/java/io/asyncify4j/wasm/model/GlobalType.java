package io.asyncify4j.wasm.model;

/** The type of a global. */
public record GlobalType(ValType type, boolean mutable) {}
