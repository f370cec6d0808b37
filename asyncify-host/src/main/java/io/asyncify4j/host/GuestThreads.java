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

    /**
     * How long a guest thread waits on its instance, after the last queued task, for the resume of a call
     * suspended there ({@code AsyncInstance.linger}): a future completed within this time resumes the call
     * on the same thread, woken directly, without an executor hand-off. Short next to the pool's 30 s
     * keep-alive: the thread is not held for the suspension, only for a moment after it.
     */
    static final long LINGER_NANOS = TimeUnit.MICROSECONDS.toNanos(500);

    /**
     * How long a lingering thread spins before it parks: a resume handed to it meanwhile costs no thread
     * wake-up. About what a {@code ForkJoinPool} worker (a virtual thread's carrier) spins before parking.
     */
    static final long SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(20);

    /**
     * After this many lingering waits in a row whose task came later than the spin (or than the whole
     * linger), an instance's threads stop spinning (or lingering)...
     */
    static final int MISSES = 2;

    /** ...but for one wait in this many (a power of two), to notice when resumes come soon again. */
    static final int PROBE_EVERY = 16;

    /** At most this many guest threads linger at once, over all instances. */
    static final int MAX_LINGERING = Math.max(1, Runtime.getRuntime().availableProcessors());

    private static final AtomicInteger LINGERING = new AtomicInteger();

    private GuestThreads() {}

    static ExecutorService defaultExecutor() {
        return DEFAULT;
    }

    /** Whether the calling thread may linger (fewer than {@link #MAX_LINGERING} do); if so, it must call {@link #stopLingering}. */
    static boolean startLingering() {
        while (true) {
            int n = LINGERING.get();
            if (n >= MAX_LINGERING) {
                return false;
            }
            if (LINGERING.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    static void stopLingering() {
        LINGERING.decrementAndGet();
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
