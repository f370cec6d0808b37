package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;

/**
 * The default executor's threads linger a moment after a suspension for the call's resume
 * ({@code AsyncInstance.linger}): resumes handed to a lingering thread, to one that gave up, to none
 * (more instances than may linger at once), and an instance closed while its thread lingers.
 */
class LingerTest {
    /** {@code loop(n)}: n times await env.ping, summing what it returns. */
    private static final String LOOP = """
            (module
              (import "env" "ping" (func $ping (param i32) (result i32)))
              (func (export "loop") (param $n i32) (result i32) (local $acc i32) (local $i i32)
                (loop $l
                  (local.set $acc (i32.add (local.get $acc) (call $ping (local.get $i))))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
                (local.get $acc)))
            """;

    /** An instance whose ping(i) returns i + 1 through the future {@code completion} makes of i. */
    private static AsyncInstance guest(Engine engine, IntFunction<CompletableFuture<long[]>> completion) {
        return AsyncInstance.builderFromWat(LOOP)
                .withEngine(engine)
                .withAsyncImport(new AsyncImport("env", "ping", FunctionType.of(List.of(ValType.I32), List.of(ValType.I32)),
                        (inst, args) -> completion.apply((int) args[0])))
                .build();
    }

    private static long sum(int n) {
        return (long) n * (n + 1) / 2;
    }

    /** Completes {@code i + 1} on a thread of its own after {@code micros}. */
    private static CompletableFuture<long[]> after(int i, long micros) {
        return CompletableFuture.supplyAsync(() -> new long[] {i + 1},
                CompletableFuture.delayedExecutor(micros, TimeUnit.MICROSECONDS));
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void resumesSoonerAndLaterThanTheLingerAllArrive(Engine engine) throws Exception {
        // 0 us: handed over while spinning or before the thread lingers; 2 ms: after it gave up (the
        // instance then stops lingering, but for probes); alternating, so both paths run many times.
        int n = 200;
        try (AsyncInstance g = guest(engine, i -> after(i, i % 8 < 4 ? 0 : 2_000))) {
            assertThat(g.call("loop", n).get(60, TimeUnit.SECONDS)).containsExactly(sum(n));
            assertThat(g.metrics().suspensions()).isPositive();
        }
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void moreInstancesThanMayLingerAllFinish(Engine engine) throws Exception {
        int instances = 4 * GuestThreads.MAX_LINGERING + 3;
        int n = 300;
        List<AsyncInstance> guests = new ArrayList<>();
        List<CompletableFuture<long[]>> calls = new ArrayList<>();
        try {
            for (int k = 0; k < instances; k++) {
                AsyncInstance g = guest(engine, i -> after(i, i % 3 == 0 ? 50 : 0));
                guests.add(g);
                calls.add(g.call("loop", n));
            }
            for (CompletableFuture<long[]> c : calls) {
                assertThat(c.get(120, TimeUnit.SECONDS)).containsExactly(sum(n));
            }
        } finally {
            guests.forEach(AsyncInstance::close);
        }
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void closingWhileAThreadLingersFailsTheSuspendedCallAndLaterOnes(Engine engine) throws Exception {
        CompletableFuture<long[]> never = new CompletableFuture<>();
        AsyncInstance g = guest(engine, i -> i == 0 ? CompletableFuture.completedFuture(new long[] {1}) : never);
        CompletableFuture<long[]> call = g.call("loop", 3);
        AsyncInstanceTest.waitFor(() -> g.suspendedCalls() == 1);
        g.close(); // its thread may be lingering for the resume
        assertThatThrownBy(() -> call.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(InstanceClosedException.class);
        assertThat(never).isCancelled();
        assertThatThrownBy(() -> g.call("loop", 1).get(30, TimeUnit.SECONDS))
                .hasCauseInstanceOf(InstanceClosedException.class);
    }
}
