package io.asyncify4j.spectest;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Interrupts commands that run past their deadline. Endive's interpreter checks the thread's
 * interrupt flag while it runs and then throws {@code WasmInterruptedException}, so a runaway guest
 * (an infinite loop a transform introduced, say) fails one command instead of hanging the run.
 */
final class Watchdog {
    private static final Set<ScriptRunner> WATCHED = ConcurrentHashMap.newKeySet();
    private static volatile ScheduledExecutorService timer;

    private Watchdog() {}

    static void watch(ScriptRunner runner) {
        ensureStarted();
        WATCHED.add(runner);
    }

    static void unwatch(ScriptRunner runner) {
        WATCHED.remove(runner);
    }

    private static void ensureStarted() {
        if (timer == null) {
            synchronized (Watchdog.class) {
                if (timer == null) {
                    ScheduledExecutorService t = Executors.newSingleThreadScheduledExecutor(r -> {
                        Thread th = new Thread(r, "asyncify4j-spectest-watchdog");
                        th.setDaemon(true);
                        return th;
                    });
                    t.scheduleWithFixedDelay(Watchdog::tick, 250, 250, TimeUnit.MILLISECONDS);
                    timer = t;
                }
            }
        }
    }

    private static void tick() {
        long now = System.nanoTime();
        for (ScriptRunner r : WATCHED) {
            r.checkDeadline(now);
        }
    }
}
