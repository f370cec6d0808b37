package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Modules asyncified ahead of time by Binaryen's {@code wasm-opt --asyncify} (see binaryen-hostile.wat and
 * binaryen-start-loop.wat) are not transformed again, yet metered: every call can be stopped by its budget,
 * deadline, cancellation or {@code close()}, and the thread is returned.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AheadOfTimeAsyncifiedTest {
    private static final DataRegion REGION = DataRegion.allocate("alloc", 4096);

    private static byte[] resource(String name) {
        try (InputStream in = AheadOfTimeAsyncifiedTest.class.getResourceAsStream(name)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static AsyncInstance.Builder hostile(Engine engine) {
        return AsyncInstance.builder(resource("binaryen-hostile.wasm"))
                .withEngine(engine)
                .withAlreadyAsyncified(REGION)
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> CompletableFuture.supplyAsync(() -> 3 * x)));
    }

    private static Throwable failure(CompletableFuture<long[]> call) throws Exception {
        try {
            call.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (CancellationException e) {
            return e;
        }
        throw new AssertionError("the call returned");
    }

    @ParameterizedTest
    @ValueSource(strings = {"spin", "spin_br_if", "fill_forever", "fetch_then_spin"})
    void theBudgetStopsEveryLoop(String export) throws Exception {
        for (Engine engine : TestEngines.available().toList()) {
            try (AsyncInstance guest = hostile(engine).withFuelBudget(1_000_000).build()) {
                assertThat(failure(guest.call(export))).as(export + " on " + engine)
                        .isInstanceOf(FuelExhaustedException.class);
            }
        }
    }

    /** The engine's call-depth limit is a trap like any other (it was an untyped ChicoryException). */
    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void unboundedRecursionIsATrap(Engine engine) throws Exception {
        // A guest thread with a small stack: the engine's limit comes in seconds (the default stack is large).
        ExecutorService smallStack = Executors.newSingleThreadExecutor(r -> new Thread(null, r, "small-stack", 16L << 20));
        try (AsyncInstance guest = hostile(engine).withExecutor(smallStack).build()) {
            Throwable t = failure(guest.call("rec", 0));
            assertThat(t).isInstanceOf(GuestTrapException.class).hasMessageContaining("call stack exhausted");
            assertThat(((GuestTerminatedException) t).instanceUsable()).isTrue();
            assertThat(guest.call("alloc", 8).get(10, TimeUnit.SECONDS)).hasSize(1);
        } finally {
            smallStack.shutdownNow();
        }
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void cancelStopsARunningLoopAndReturnsTheThread(Engine engine) throws Exception {
        ExecutorService worker = Executors.newSingleThreadExecutor();
        try (AsyncInstance guest = hostile(engine).withExecutor(worker).build()) {
            CompletableFuture<long[]> call = guest.call("spin_br_if");
            Thread.sleep(100);
            call.cancel(true);
            // The worker is free again: the loop stopped at its next check.
            assertThat(CompletableFuture.supplyAsync(() -> "free", worker).get(30, TimeUnit.SECONDS)).isEqualTo("free");
            assertThat(guest.call("alloc", 8)).failsWithin(10, TimeUnit.SECONDS)
                    .withThrowableOfType(ExecutionException.class)
                    .withCauseInstanceOf(InstanceClosedException.class); // discarded: stopped mid-computation
        } finally {
            worker.shutdownNow();
        }
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void deadlineAndCloseStopRunningLoops(Engine engine) throws Exception {
        try (AsyncInstance guest = hostile(engine).withDeadline(Duration.ofMillis(200)).build()) {
            assertThat(failure(guest.call("spin"))).isInstanceOf(DeadlineExceededException.class);
        }
        AsyncInstance guest = hostile(engine).build();
        CompletableFuture<long[]> call = guest.call("fill_forever");
        Thread.sleep(100);
        guest.close();
        assertThat(failure(call)).isInstanceOf(InstanceClosedException.class);
    }

    /**
     * The data allocator runs outside any call: a metered one with loops works (it crashed the build with a
     * NullPointerException, found by the CLI tests on a C module's malloc), one that never returns is stopped.
     */
    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void theDataAllocatorIsMeteredOutsideAnyCall(Engine engine) throws Exception {
        try (AsyncInstance guest = hostile(engine).withAlreadyAsyncified(DataRegion.allocate("alloc_clearing", 4096))
                .build()) {
            assertThat(guest.call("sum_fetches", 4).get(30, TimeUnit.SECONDS)).containsExactly(3 * (0 + 1 + 2 + 3));
        }
        assertThatThrownBy(() -> hostile(engine).withAlreadyAsyncified(DataRegion.allocate("alloc_forever", 4096)).build())
                .isInstanceOf(LimitExceededException.class).hasMessageContaining("outside a call");
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void aStartFunctionThatNeverEndsIsStopped(Engine engine) {
        assertThatThrownBy(() -> AsyncInstance.builder(resource("binaryen-start-loop.wasm"))
                .withEngine(engine)
                .withAlreadyAsyncified(DataRegion.at(1024, 4096))
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> CompletableFuture.completedFuture(x)))
                .withFuelBudget(1_000_000)
                .build())
                .isInstanceOf(FuelExhaustedException.class);
    }

    /** The checks placed after Binaryen's transform are harmless to its unwinds and rewinds, at any slice size. */
    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void meteredLoopsStillSuspendAndResumeCorrectly(Engine engine) throws Exception {
        AtomicLong fetches = new AtomicLong();
        for (long quantum : new long[] {1, 7, 100, AsyncInstance.DEFAULT_QUANTUM}) {
            try (AsyncInstance guest = AsyncInstance.builder(resource("binaryen-hostile.wasm"))
                    .withEngine(engine)
                    .withAlreadyAsyncified(REGION)
                    .withFuelQuantum(quantum)
                    .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> {
                        fetches.incrementAndGet();
                        return CompletableFuture.supplyAsync(() -> 3 * x,
                                CompletableFuture.delayedExecutor(100, TimeUnit.MICROSECONDS));
                    }))
                    .build()) {
                // 3 * (0 + 1 + ... + 49)
                assertThat(guest.call("sum_fetches", 50).get(30, TimeUnit.SECONDS)).as("quantum " + quantum)
                        .containsExactly(3 * 49 * 50 / 2);
                // A fetch already complete when the guest asks resumes it at once, without a suspension.
                assertThat(guest.metrics().suspensions()).isBetween(1L, 50L);
            }
        }
        assertThat(fetches).hasValue(200);
    }
}
