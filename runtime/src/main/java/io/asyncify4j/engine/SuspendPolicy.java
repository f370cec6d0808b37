package io.asyncify4j.engine;

import java.util.SplittableRandom;

/** Decides, at each suspension point a guest reaches, whether the host suspends it there. */
public interface SuspendPolicy {
    /** Called when a new top-level call into the guest starts. */
    default void onTopLevelCall() {}

    boolean shouldSuspend();

    static SuspendPolicy never() {
        return () -> false;
    }

    static SuspendPolicy always() {
        return () -> true;
    }

    /**
     * Suspends at every point for the first {@code alwaysFirst} points of each top-level call, then at
     * points spaced further and further apart: each gap is the number of points seen so far times a
     * seeded random factor in [0, {@code growth}). Suspending everywhere in deep recursion costs time
     * quadratic in the depth (every suspension unwinds and rewinds the whole stack); growing gaps keep
     * runaway recursion and long loops bounded while still suspending at deep and late points.
     */
    static SuspendPolicy chaos(long seed, int alwaysFirst, double growth) {
        return new SuspendPolicy() {
            private final SplittableRandom random = new SplittableRandom(seed);
            private long seen;
            private long next;

            @Override
            public void onTopLevelCall() {
                seen = 0;
                next = alwaysFirst;
            }

            @Override
            public boolean shouldSuspend() {
                seen++;
                if (seen <= alwaysFirst) {
                    return true;
                }
                if (seen < next) {
                    return false;
                }
                next = seen + 1 + (long) (seen * growth * random.nextDouble());
                return true;
            }
        };
    }
}
