package io.asyncify4j.host;

import run.endive.runtime.Instance;
import java.util.List;

/**
 * A suspended call's asyncify stack, moved out of the instance: the frame bytes, the references its
 * frames point to (one entry per reference table), and its per-coroutine global values.
 */
record SavedStack(byte[] frames, List<Refs> refs, long[] globals) {
    /**
     * One reference table's saved entries: function and exception references as the engine's ints with
     * their owning instances; externref and GC references as the objects themselves ({@code objects}
     * is null for tables of int references).
     */
    record Refs(int[] values, Object[] objects, Instance[] owners) {}

    /** Approximate bytes held: frames plus references and globals. */
    long bytes() {
        long n = frames.length + 8L * globals.length;
        for (Refs r : refs) {
            n += 12L * r.values().length;
        }
        return n;
    }
}
