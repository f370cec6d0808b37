package io.asyncify4j.spectest.host;

import java.io.PrintStream;
import java.io.PrintWriter;

/**
 * Where the {@code spectest.print*} host functions write: one line per printed argument, formatted
 * {@code VALUE : TYPE} (e.g. {@code 1 : i32}) like Binaryen's {@code wasm-shell}.
 */
@FunctionalInterface
public interface PrintSink {

    void println(String line);

    /** Drops everything (spec-test runs). */
    static PrintSink discard() {
        return line -> {};
    }

    static PrintSink of(PrintStream out) {
        return line -> {
            out.println(line);
            out.flush();
        };
    }

    static PrintSink of(PrintWriter out) {
        return line -> {
            out.println(line);
            out.flush();
        };
    }
}
