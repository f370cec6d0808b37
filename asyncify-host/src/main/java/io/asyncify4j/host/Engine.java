package io.asyncify4j.host;

/** How Chicory executes the (asyncified) guest. */
public enum Engine {
    /** Chicory's interpreter: starts at once, recurses on the Java stack. */
    INTERPRETER,
    /** Chicory's compiler to JVM bytecode ({@code MachineFactoryCompiler}): slower to load, faster to run. */
    COMPILER
}
