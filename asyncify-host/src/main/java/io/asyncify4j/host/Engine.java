package io.asyncify4j.host;

import io.asyncify4j.engine.Engines;

/** How the engine (Endive, see {@link Engines}) executes the (asyncified) guest. */
public enum Engine {
    /** Endive's interpreter: starts at once, recurses on the Java stack. */
    INTERPRETER(Engines.Kind.INTERPRETER),
    /** Endive's compiler to JVM bytecode ({@code MachineFactoryCompiler}): slower to load, faster to run. */
    COMPILER(Engines.Kind.COMPILER);

    private final Engines.Kind kind;

    Engine(Engines.Kind kind) {
        this.kind = kind;
    }

    /** The engine binding's machine kind. */
    public Engines.Kind kind() {
        return kind;
    }
}
