package io.asyncify4j.host;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * The wasm text format, through Chicory's {@code wabt} artifact when the application has it on its class
 * or module path: the host does not depend on it (it is large, and most hosts load binary modules).
 */
final class TextFormat {
    static final String ARTIFACT = "com.dylibso.chicory:wabt";
    private static final String CLASS = "com.dylibso.chicory.wabt.Wat2Wasm";

    private TextFormat() {}

    /** Parses {@code source} (a {@code String} of wat, or a {@code java.io.File}) to a binary module. */
    static byte[] parse(Object source) {
        return parse(source, CLASS);
    }

    /** {@link #parse(Object)} through {@code parserClass} (tests name a class that is absent). */
    static byte[] parse(Object source, String parserClass) {
        Method parse;
        try {
            parse = Class.forName(parserClass).getMethod("parse", source.getClass());
        } catch (ClassNotFoundException | NoSuchMethodException e) {
            throw new IllegalStateException("the wasm text format needs " + ARTIFACT
                    + " on the class path (add that dependency), or give the module in the binary format", e);
        }
        try {
            return (byte[]) parse.invoke(null, source);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalArgumentException("cannot parse the wasm text: " + e.getCause(), e.getCause());
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot call " + parserClass + ".parse", e);
        }
    }
}
