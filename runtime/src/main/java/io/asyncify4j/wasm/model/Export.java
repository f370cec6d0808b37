package io.asyncify4j.wasm.model;

/** An export: a name for an index in one of the module's index spaces. */
public record Export(String name, ExternalKind kind, int index) {}
