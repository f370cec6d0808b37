package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;

import run.endive.runtime.HostFunction;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Where resumed guest code runs: always on the instance's executor, never on the thread that completed
 * the host future (a user's I/O thread), however soon it completes: before the unwind is over, while
 * the guest thread waits for it, or later.
 */
class ResumeThreadTest {
    /** {@code loop(n)}: n times, await env.ping, then report the thread through env.where. */
    private static final String LOOP = """
            (module
              (import "env" "ping" (func $ping (result i32)))
              (import "env" "where" (func $where))
              (func (export "loop") (param $n i32) (result i32) (local $acc i32)
                (loop $l
                  (local.set $acc (i32.add (local.get $acc) (call $ping)))
                  (call $where)
                  (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                  (br_if $l (local.get $n)))
                (local.get $acc)))
            """;

    private static final int ROUND_TRIPS = 3000;

    /**
     * Runs {@link #ROUND_TRIPS} round trips whose futures a thread named "user-io" completes, the k-th
     * after k mod 4 yields (so completions land at every point of a suspension); returns the names of
     * the threads the guest ran on after each resume.
     */
    private static Set<String> guestThreadsAfterResumes(Engine engine, ExecutorService executor) throws Exception {
        ExecutorService io = Executors.newSingleThreadExecutor(r -> new Thread(r, "user-io"));
        Set<String> threads = ConcurrentHashMap.newKeySet();
        int[] k = {0};
        AsyncInstance.Builder builder = AsyncInstance.builderFromWat(LOOP)
                .withEngine(engine)
                .withAsyncImport(new AsyncImport("env", "ping", FunctionType.of(List.of(), List.of(ValType.I32)),
                        (inst, args) -> {
                            CompletableFuture<long[]> f = new CompletableFuture<>();
                            int yields = k[0]++ % 4;
                            io.execute(() -> {
                                for (int i = 0; i < yields; i++) {
                                    Thread.yield();
                                }
                                f.complete(new long[] {1});
                            });
                            return f;
                        }))
                .withHostFunction(new HostFunction("env", "where", FunctionType.of(List.of(), List.of()),
                        (inst, args) -> {
                            threads.add(Thread.currentThread().getName());
                            return null;
                        }));
        if (executor != null) {
            builder.withExecutor(executor);
        }
        try (AsyncInstance guest = builder.build()) {
            assertThat(guest.call("loop", ROUND_TRIPS).get(60, TimeUnit.SECONDS)).containsExactly(ROUND_TRIPS);
        } finally {
            io.shutdownNow();
        }
        return threads;
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void resumesRunOnTheDefaultExecutorsGuestThreads(Engine engine) throws Exception {
        assertThat(guestThreadsAfterResumes(engine, null)).isNotEmpty().allMatch(n -> n.startsWith("asyncify4j-guest-"));
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void resumesRunOnTheUsersExecutor(Engine engine) throws Exception {
        ExecutorService mine = Executors.newFixedThreadPool(2, r -> new Thread(null, r, "user-guest", 64L << 20));
        try {
            assertThat(guestThreadsAfterResumes(engine, mine)).isNotEmpty().allMatch(n -> n.equals("user-guest"));
        } finally {
            mine.shutdownNow();
        }
    }
}
