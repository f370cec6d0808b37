package io.asyncify4j.wasm.model;

/** An exception tag defined by the module: the index of its function type (attribute 0). */
public record Tag(int typeIndex) {}
