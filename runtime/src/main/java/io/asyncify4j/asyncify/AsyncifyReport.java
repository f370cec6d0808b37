package io.asyncify4j.asyncify;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the transform did: each instrumented function with the reason it was instrumented, the number
 * of call sites that can unwind, and warnings (such as runtime functions that call unwinding code).
 *
 * <p>Reasons are kept as parent pointers ({@link Reason#via()}: the callee through which a function
 * changes state), so the report stays linear in the module however long its call chains are;
 * {@link #chain(int)} follows them for one function.
 */
public record AsyncifyReport(List<InstrumentedFunction> instrumented, int unwindingCallSites,
                             List<String> warnings, int dataMemoryIndex, Map<Integer, Reason> reasons) {

    /** Links of a chain printed per function by {@link #describe()} before it is cut short. */
    public static final int DESCRIBED_CHAIN_LINKS = 8;

    /**
     * One instrumented function.
     *
     * @param reason why it changes state (or was instrumented), e.g. {@code calls $sleep}
     * @param via    the function it changes state through (the next link of its chain), or -1
     */
    public record InstrumentedFunction(int index, String name, int callSites, String reason, int via) {}

    /** Why a function (instrumented or not, such as an import) changes state, and through which callee. */
    public record Reason(String name, String reason, int via) {}

    public AsyncifyReport {
        instrumented = List.copyOf(instrumented);
        warnings = List.copyOf(warnings);
        reasons = Map.copyOf(reasons);
    }

    /** The chain of reasons behind function {@code index}, e.g. {@code $d: calls $a -> $a: calls $sleep -> ...}. */
    public String chain(int index) {
        return chain(index, Integer.MAX_VALUE);
    }

    private String chain(int index, int maxLinks) {
        StringBuilder sb = new StringBuilder();
        Set<Integer> seen = new HashSet<>();
        int cur = index;
        int links = 0;
        while (cur >= 0 && seen.add(cur)) {
            Reason r = reasons.get(cur);
            if (r == null) {
                break;
            }
            if (links == maxLinks) {
                sb.append(" -> ...");
                break;
            }
            if (sb.length() > 0) {
                sb.append(" -> ");
            }
            sb.append(r.name()).append(": ").append(r.reason());
            links++;
            cur = r.via();
        }
        return sb.toString();
    }

    /**
     * A human-readable report, one line per instrumented function with its chain (the first
     * {@link #DESCRIBED_CHAIN_LINKS} links; {@link #chain(int)} gives all of them).
     */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(instrumented.size()).append(" function(s) instrumented, ").append(unwindingCallSites)
                .append(" call site(s) can unwind\n");
        for (InstrumentedFunction f : instrumented) {
            sb.append("  ").append(f.name()).append(" (").append(f.callSites()).append(" call sites): ");
            String chain = chain(f.index(), DESCRIBED_CHAIN_LINKS);
            sb.append(chain.isEmpty() ? f.reason() : chain).append('\n');
        }
        for (String w : warnings) {
            sb.append("warning: ").append(w).append('\n');
        }
        return sb.toString();
    }
}
