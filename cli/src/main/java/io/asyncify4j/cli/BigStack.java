package io.asyncify4j.cli;

import java.util.concurrent.Callable;

/**
 * Runs guest code on a thread with a large stack (Endive's interpreter recurses on the Java stack): the
 * modules {@code shell} runs and the benchmarks. Spec scripts run on the harness's own worker threads
 * ({@link io.asyncify4j.spectest.SpecTestRunner#DEFAULT_STACK_SIZE}, sized for the testsuite).
 */
final class BigStack {
    /** Room for deep but finite recursion in a user's module: about 40,000 interpreter frames. */
    static final long STACK_SIZE = 16L << 20;

    private BigStack() {}

    static <T> T call(Callable<T> body) throws Exception {
        Object[] result = new Object[1];
        Throwable[] failure = new Throwable[1];
        Thread t = new Thread(null, () -> {
            try {
                result[0] = body.call();
            } catch (Throwable e) {
                failure[0] = e;
            }
        }, "asyncify4j-guest", STACK_SIZE);
        t.start();
        t.join();
        if (failure[0] instanceof Exception) {
            throw (Exception) failure[0];
        }
        if (failure[0] instanceof Error) {
            throw (Error) failure[0];
        }
        @SuppressWarnings("unchecked")
        T value = (T) result[0];
        return value;
    }
}
