package io.asyncify4j.host;

import io.asyncify4j.asyncify.AsyncifyOptions;
import io.asyncify4j.engine.Engines;

/** How the engine (Endive, see {@link Engines}) executes the (asyncified) guest. */
public enum Engine {
    /** Endive's interpreter: starts at once, recurses on the Java stack. */
    INTERPRETER(Engines.Kind.INTERPRETER, AsyncifyOptions.Target.INTERPRETER),
    /** Endive's compiler to JVM bytecode ({@code MachineFactoryCompiler}): slower to load, faster to run. */
    COMPILER(Engines.Kind.COMPILER, AsyncifyOptions.Target.COMPILER);

    private final Engines.Kind kind;
    private final AsyncifyOptions.Target target;

    Engine(Engines.Kind kind, AsyncifyOptions.Target target) {
        this.kind = kind;
        this.target = target;
    }

    /** What the transform shapes the guest's code for on this engine. */
    public AsyncifyOptions.Target target() {
        return target;
    }

    /** The engine binding's machine kind. */
    public Engines.Kind kind() {
        return kind;
    }
}
