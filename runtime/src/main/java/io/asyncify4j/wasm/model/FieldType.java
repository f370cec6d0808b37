package io.asyncify4j.wasm.model;

/** A field of a GC struct or the element of a GC array: a storage type and its mutability. */
public record FieldType(ValType storage, boolean mutable) {}
