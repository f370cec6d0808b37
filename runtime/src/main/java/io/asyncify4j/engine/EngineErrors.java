package io.asyncify4j.engine;

import run.endive.runtime.TrapException;
import run.endive.runtime.WasmException;
import run.endive.runtime.WasmInterruptedException;
import run.endive.runtime.WasmRuntimeException;
import run.endive.wasm.InvalidException;
import run.endive.wasm.MalformedException;
import run.endive.wasm.UninstantiableException;
import run.endive.wasm.UnlinkableException;
import run.endive.wasm.WasmEngineException;

/** What the engine's exceptions mean: traps, interruptions, uncaught wasm exceptions, load failures. */
public final class EngineErrors {
    private EngineErrors() {}

    /** Any exception the engine raises on its own account ({@code WasmEngineException}). */
    public static boolean isEngineException(Throwable t) {
        return t instanceof WasmEngineException;
    }

    /** An uncaught wasm exception ({@code throw} with no handler): the engine's {@code WasmException}. */
    public static boolean isUncaughtWasmException(Throwable t) {
        return t instanceof WasmException;
    }

    /** The running thread was interrupted while it ran guest code. */
    public static boolean isInterruption(Throwable t) {
        return t instanceof WasmInterruptedException;
    }

    public static boolean isMalformed(Throwable t) {
        return t instanceof MalformedException;
    }

    public static boolean isInvalid(Throwable t) {
        return t instanceof InvalidException;
    }

    public static boolean isUnlinkable(Throwable t) {
        return t instanceof UnlinkableException;
    }

    public static boolean isUninstantiable(Throwable t) {
        return t instanceof UninstantiableException;
    }

    /**
     * What the engine throws when a start function run during instantiation fails with {@code e}: a
     * trap becomes an uninstantiable module, anything else passes as it is. For hosts that run the
     * start function themselves after instantiation (asyncified modules, whose start is deferred).
     */
    public static RuntimeException asStartFunctionFailure(RuntimeException e) {
        return e instanceof TrapException ? new UninstantiableException(e.getMessage(), e) : e;
    }

    /**
     * Whether guest code trapped: the engine's trap exceptions, an uncaught wasm exception, the JVM
     * stack exhausted by guest recursion, or a Java exception the engine itself raised inside guest
     * code ({@link #thrownByTheEngine}). Exceptions thrown by host functions are not traps.
     */
    public static boolean isTrap(Throwable t) {
        return t instanceof TrapException || t instanceof WasmRuntimeException || t instanceof WasmException
                || t instanceof StackOverflowError || thrownByTheEngine(t);
    }

    /**
     * An unchecked Java exception raised inside the engine itself while it ran guest code (e.g. an index
     * out of bounds on a table operation it does not check): a trap the engine failed to type, not the
     * host's exception (those start in host code).
     */
    public static boolean thrownByTheEngine(Throwable t) {
        // Also the engine's own untyped failures: its call-depth limit ("call stack exhausted") is a plain
        // WasmEngineException, not a TrapException (subclasses, such as WASI's exit, are the host's).
        if (!(t instanceof IndexOutOfBoundsException || t instanceof ArithmeticException
                || t instanceof NegativeArraySizeException || t instanceof ClassCastException
                || t instanceof NullPointerException || t instanceof IllegalArgumentException
                || t.getClass() == WasmEngineException.class)) {
            return false;
        }
        for (StackTraceElement e : t.getStackTrace()) {
            String c = e.getClassName();
            if (c.startsWith("java.") || c.startsWith("jdk.") || c.startsWith("sun.")) {
                continue; // the JDK method the engine called (a list or array index check)
            }
            return c.startsWith("run.endive.") && !c.startsWith("run.endive.wasi.");
        }
        return false;
    }
}
