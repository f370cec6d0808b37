package io.asyncify4j.host;

import com.dylibso.chicory.runtime.Instance;
import java.util.List;

/**
 * A suspended call's asyncify stack, moved out of the instance: the frame bytes, the references its
 * frames point to (one entry per reference table), and its per-coroutine global values.
 */
record SavedStack(byte[] frames, List<Refs> refs, long[] globals) {
    record Refs(int[] values, Instance[] owners) {}

    /** Approximate bytes held: frames plus references and globals. */
    long bytes() {
        long n = frames.length + 8L * globals.length;
        for (Refs r : refs) {
            n += 12L * r.values().length;
        }
        return n;
    }
}
