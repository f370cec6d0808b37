package io.asyncify4j.wasm.model;

/**
 * A custom section kept as raw bytes. {@code afterSection} is the id of the known section it followed
 * in the input (0 when it came first), so it is written back at the same place. Known sections with an
 * empty vector, which the encoder omits, do not count as followed.
 */
public record CustomSection(String name, byte[] content, int afterSection) {}
