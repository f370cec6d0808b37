package io.asyncify4j.wasm.model;

/** How an element or data segment is applied. */
public enum SegmentMode { ACTIVE, PASSIVE, DECLARATIVE }
