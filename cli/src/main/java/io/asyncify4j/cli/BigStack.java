package io.asyncify4j.cli;

import java.util.concurrent.Callable;

/** Runs guest code on a thread with a large stack (Endive's interpreter recurses on the Java stack). */
final class BigStack {
    static final long STACK_SIZE = io.asyncify4j.spectest.SpecTestRunner.DEFAULT_STACK_SIZE;

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
