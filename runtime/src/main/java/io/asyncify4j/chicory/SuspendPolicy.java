package io.asyncify4j.chicory;

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
     * a seeded random subset with probability {@code probability}. Suspending everywhere in deep
     * recursion costs time quadratic in the depth (every suspension unwinds and rewinds the whole
     * stack); the random tail keeps such runs bounded while still suspending at deep points.
     */
    static SuspendPolicy chaos(long seed, int alwaysFirst, double probability) {
        return new SuspendPolicy() {
            private final SplittableRandom random = new SplittableRandom(seed);
            private int seen;

            @Override
            public void onTopLevelCall() {
                seen = 0;
            }

            @Override
            public boolean shouldSuspend() {
                return seen++ < alwaysFirst || random.nextDouble() < probability;
            }
        };
    }
}
