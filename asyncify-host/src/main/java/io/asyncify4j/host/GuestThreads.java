package io.asyncify4j.host;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The default executor for guest code: daemon threads with a large Java stack, because Endive's
 * interpreter recurses on the Java stack for every wasm call (about 55,000 nested calls fit in 16 MiB;
 * asyncified frames are larger). Threads are reused and retire when idle; a suspended guest holds none.
 */
final class GuestThreads {
    /**
     * Stack size of guest threads (reserved, committed only as used): room for about a million nested
     * wasm calls on the interpreter, twice what a million fuel units of recursion reach, so that such a
     * recursion metered with a budget of a million units ends at its budget ({@code run --fuel} exit 3),
     * not at the engine's stack (at 256 MiB the two raced: 1,000,000 units of {@code (func $f (call $f))}
     * are about 490,000 frames, and a cold JIT's frames are larger).
     */
    static final long STACK_BYTES = 512L << 20;

    private static final ExecutorService DEFAULT = create();

    private GuestThreads() {}

    static ExecutorService defaultExecutor() {
        return DEFAULT;
    }

    private static ExecutorService create() {
        AtomicInteger n = new AtomicInteger();
        ThreadFactory factory = r -> {
            Thread t = new Thread(null, r, "asyncify4j-guest-" + n.incrementAndGet(), STACK_BYTES);
            t.setDaemon(true);
            return t;
        };
        return new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS, new SynchronousQueue<>(), factory);
    }
}
