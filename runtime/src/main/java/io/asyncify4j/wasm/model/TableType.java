package io.asyncify4j.wasm.model;

/** The type of a table: its element reference type and limits. */
public record TableType(ValType elementType, Limits limits) {}
