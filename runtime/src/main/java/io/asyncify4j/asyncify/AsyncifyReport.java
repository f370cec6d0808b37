package io.asyncify4j.asyncify;

import java.util.List;

/**
 * What the transform did: each instrumented function with the call chain that made it so, the number
 * of call sites that can unwind, and warnings (such as runtime functions that call unwinding code).
 */
public record AsyncifyReport(List<InstrumentedFunction> instrumented, int unwindingCallSites,
                             List<String> warnings, int dataMemoryIndex) {

    /** One instrumented function. */
    public record InstrumentedFunction(int index, String name, int callSites, String reason) {}

    public AsyncifyReport {
        instrumented = List.copyOf(instrumented);
        warnings = List.copyOf(warnings);
    }

    /** A human-readable report, one line per instrumented function. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(instrumented.size()).append(" function(s) instrumented, ").append(unwindingCallSites)
                .append(" call site(s) can unwind\n");
        for (InstrumentedFunction f : instrumented) {
            sb.append("  ").append(f.name()).append(" (").append(f.callSites()).append(" call sites): ")
                    .append(f.reason()).append('\n');
        }
        for (String w : warnings) {
            sb.append("warning: ").append(w).append('\n');
        }
        return sb.toString();
    }
}
