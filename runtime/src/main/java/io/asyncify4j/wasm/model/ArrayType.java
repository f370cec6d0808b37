package io.asyncify4j.wasm.model;

/** A GC array type. */
public record ArrayType(FieldType element) implements CompositeType {}
