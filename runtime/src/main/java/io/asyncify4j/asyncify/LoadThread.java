package io.asyncify4j.asyncify;

import java.util.function.Supplier;

/**
 * Runs the transform's passes on a thread of their own whose stack is sized for the nesting-depth
 * limit. The passes walk structured code recursively (a few frames per nesting level); the decoder
 * refuses bodies nested deeper than {@link LoadLimits#maxNestingDepth()} before any pass runs, and this
 * thread's stack holds that depth, so the caller's thread (a JVM default of 512 KiB to 1 MiB, or less)
 * never sees the recursion.
 */
final class LoadThread {
    /**
     * Stack bytes per level of nesting: 10,000 levels (blocks, loops, ifs with else; with fuel metering
     * and chaos suspension points) needed more than 8 MiB and at most 16 MiB on JDK 17 with cold frames,
     * so 4 KiB a level leaves a margin of more than 2.5.
     */
    static final long STACK_BYTES_PER_LEVEL = 4096;
    static final long MIN_STACK_BYTES = 8L << 20;

    private static final ThreadLocal<Long> CURRENT_STACK = new ThreadLocal<>();

    private LoadThread() {}

    /** Runs {@code work} on a thread whose stack holds {@code maxNestingDepth} levels; returns its result. */
    static <T> T run(int maxNestingDepth, Supplier<T> work) {
        long stack = Math.max(MIN_STACK_BYTES, STACK_BYTES_PER_LEVEL * maxNestingDepth);
        Long current = CURRENT_STACK.get();
        if (current != null && current >= stack) {
            return work.get(); // already on a load thread big enough
        }
        Object[] result = new Object[1];
        Throwable[] failure = new Throwable[1];
        Thread t = new Thread(null, () -> {
            CURRENT_STACK.set(stack);
            try {
                result[0] = work.get();
            } catch (Throwable e) {
                failure[0] = e;
            }
        }, "asyncify4j-load", stack);
        t.setDaemon(true);
        t.start();
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the work is CPU-bound and short: finish it, keep the interrupt
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure[0] instanceof RuntimeException e) {
            throw e;
        }
        if (failure[0] instanceof Error e) {
            throw e;
        }
        if (failure[0] != null) {
            throw new IllegalStateException(failure[0]);
        }
        @SuppressWarnings("unchecked")
        T value = (T) result[0];
        return value;
    }
}
