package io.asyncify4j.host;

import static io.asyncify4j.host.AsyncInstanceTest.waitFor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import run.endive.runtime.HostFunction;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;
import io.asyncify4j.asyncify.ReservedImportException;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.model.Export;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Function;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.typing.InvalidModuleException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Guests and hosts trying to escape metering, outlive a stop, exceed limits or get a wrong answer
 * through: each test is one way in, and must end with a typed outcome within a bounded time.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HostileGuestTest {

    private static final String SPIN = "(module (func (export \"spin\") (loop (br_if 0 (i32.const 1)))))";

    /** Recursion without end hits the engine's call-depth limit: a typed trap, the instance still usable. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("io.asyncify4j.host.TestEngines#available")
    void unboundedRecursionIsATypedTrap(Engine engine) throws Exception {
        String wat = """
                (module (func $rec (export "rec") (param i32) (result i32)
                          (i32.add (i32.const 1) (call $rec (local.get 0))))
                        (func (export "one") (result i32) (i32.const 1)))
                """;
        // A guest thread with a small stack: the engine's limit comes in seconds (the default stack is large).
        ExecutorService smallStack = Executors.newSingleThreadExecutor(r -> new Thread(null, r, "small-stack", 16L << 20));
        try (AsyncInstance guest = AsyncInstance.builderFromWat(wat).withEngine(engine).withExecutor(smallStack).build()) {
            assertThat(guest.call("rec", 0)).failsWithin(60, TimeUnit.SECONDS)
                    .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                    .withCauseInstanceOf(GuestTrapException.class);
            assertThat(guest.call("one").get(10, TimeUnit.SECONDS)).containsExactly(1);
        } finally {
            smallStack.shutdownNow();
        }
    }

    // ------------------------------------------------------------------ reserved namespaces, validation

    @Test
    void aGuestImportingItsOwnFuelIsRefused() {
        String wat = """
                (module (import "asyncify4j" "fuel" (global $fuel (mut i64)))
                  (func (export "spin") (loop (global.set $fuel (i64.const 1000000)) (br 0))))
                """;
        assertThatThrownBy(() -> AsyncInstance.builderFromWat(wat).withFuelBudget(1_000_000).build())
                .isInstanceOf(ReservedImportException.class).hasMessageContaining("asyncify4j.fuel");
    }

    @Test
    void aGuestImportingTheAsyncifyStateOrRuntimeIsRefused() {
        assertThatThrownBy(() -> AsyncInstance.builderFromWat(
                "(module (import \"asyncify4j\" \"state\" (global (mut i32))))").build())
                .isInstanceOf(ReservedImportException.class).hasMessageContaining("asyncify4j.state");
        assertThatThrownBy(() -> AsyncInstance.builderFromWat(
                "(module (import \"asyncify\" \"start_unwind\" (func (param i32))) (memory 1))").build())
                .isInstanceOf(ReservedImportException.class).hasMessageContaining("asyncify.start_unwind");
        assertThatThrownBy(() -> AsyncInstance.builderFromWat(
                "(module (import \"asyncify4j\" \"fuel_exhausted\" (func)))").build())
                .isInstanceOf(ReservedImportException.class);
    }

    /** {@code (func (export "f") (result i32) i64.const 0)}: decodes, does not validate. */
    private static byte[] invalidModule() {
        ModuleModel m = new ModuleModel();
        int type = m.internFuncType(FuncType.of(List.of(), List.of(io.asyncify4j.wasm.model.ValType.I32)));
        m.functions().add(new Function(type, List.of(), List.of(SimpleInstruction.of(Opcode.I64_CONST, 0L))));
        m.exports().add(new Export("f", ExternalKind.FUNCTION, 0));
        return WasmCodec.encode(m);
    }

    @Test
    void anInvalidModuleIsRejectedBeforeItIsTransformedOrRun() {
        assertThatThrownBy(() -> AsyncInstance.builder(invalidModule()).build())
                .isInstanceOf(InvalidModuleException.class).hasMessageContaining("invalid module");
        assertThatThrownBy(() -> AsyncInstance.builder(invalidModule()).withFuelBudget(1000).build())
                .isInstanceOf(InvalidModuleException.class);
    }

    @Test
    void loadLimitsAreTheHostsToSet() {
        String deep = "(module (func " + "(block ".repeat(50) + ")".repeat(50) + "))";
        assertThatThrownBy(() -> AsyncInstance.builderFromWat(deep)
                .withLoadLimits(io.asyncify4j.asyncify.LoadLimits.defaults().withMaxNestingDepth(20)).build())
                .isInstanceOf(io.asyncify4j.asyncify.LoadLimitExceededException.class);
        AsyncInstance.builderFromWat(deep).build().close();
    }

    // ------------------------------------------------------------------ stopping guests

    /** One thread: shows whether a guest gave its thread back (a task queued after it runs). */
    private static void assertThreadReturned(ExecutorService pool) throws Exception {
        assertThat(pool.submit(() -> 42).get(30, TimeUnit.SECONDS)).isEqualTo(42);
    }

    @Test
    void cancellingAnUnmeteredSpinningCallStopsItAndReturnsTheThread() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (AsyncInstance guest = AsyncInstance.builderFromWat(SPIN).withExecutor(pool).build()) {
            CompletableFuture<long[]> call = guest.call("spin");
            Thread.sleep(100);
            assertThat(call).isNotDone();
            call.cancel(true);
            assertThreadReturned(pool);
            // Stopped mid-computation: the instance is discarded, later calls fail at once, typed.
            assertThatThrownBy(() -> guest.call("spin").get(10, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(InstanceClosedException.class);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void closingStopsARunningCallAndFailsEveryWaitingOne() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        AsyncInstance guest = AsyncInstance.builderFromWat(SPIN).withExecutor(pool).build();
        CompletableFuture<long[]> running = guest.call("spin");
        CompletableFuture<long[]> queued = guest.call("spin");
        Thread.sleep(100);
        guest.close();
        assertThatThrownBy(() -> running.get(30, TimeUnit.SECONDS)).hasCauseInstanceOf(InstanceClosedException.class);
        assertThatThrownBy(() -> queued.get(30, TimeUnit.SECONDS)).hasCauseInstanceOf(InstanceClosedException.class);
        assertThreadReturned(pool);
        assertThatThrownBy(() -> guest.call("spin").get(1, TimeUnit.SECONDS)).hasCauseInstanceOf(InstanceClosedException.class);
        pool.shutdownNow();
    }

    @Test
    void closingFailsASuspendedCallWhichNeverResumesAndCancelsTheHostFuture() throws Exception {
        String wat = """
                (module (import "env" "wait" (func $wait (result i32))) (global $after (export "after_g") (mut i32) (i32.const 0))
                  (func (export "f") (result i32) (drop (call $wait)) (global.set $after (i32.const 1)) (i32.const 7))
                  (func (export "after") (result i32) (global.get $after)))
                """;
        CompletableFuture<Integer> host = new CompletableFuture<>();
        AsyncInstance guest = AsyncInstance.builderFromWat(wat)
                .withAsyncImport(AsyncImport.ofInt("env", "wait", () -> host)).build();
        CompletableFuture<long[]> call = guest.call("f");
        waitFor(() -> guest.suspendedCalls() == 1);
        guest.close();
        assertThatThrownBy(() -> call.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(InstanceClosedException.class);
        assertThat(host).isCancelled();
        assertThat(guest.instance().exports().global("after_g").getValue()).isZero(); // never resumed
    }

    @Test
    void aDeadlineStopsAStartFunctionThatNeverReturns() {
        String wat = "(module (func $s (loop (br_if 0 (i32.const 1)))) (start $s) (func (export \"f\")))";
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> AsyncInstance.builderFromWat(wat).withDeadline(Duration.ofMillis(200)).build())
                .isInstanceOf(DeadlineExceededException.class);
        assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(60));
    }

    @Test
    void interruptingTheBuildingThreadStopsAStartFunctionThatNeverReturns() throws Exception {
        String wat = "(module (func $s (loop (br_if 0 (i32.const 1)))) (start $s) (func (export \"f\")))";
        AtomicReference<Throwable> failure = new AtomicReference<>();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        Thread builder = new Thread(() -> {
            try {
                AsyncInstance.builderFromWat(wat).withExecutor(pool).build();
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        builder.start();
        Thread.sleep(200);
        builder.interrupt();
        builder.join(30_000);
        assertThat(builder.isAlive()).isFalse();
        assertThat(failure.get()).isNotNull();
        assertThreadReturned(pool); // the start function was stopped, not left spinning
        pool.shutdownNow();
    }

    // ------------------------------------------------------------------ re-entrant calls

    private static final String REENTER = """
            (module (import "env" "host" (func $host)) (import "env" "tick" (func $tick))
              (func (export "outer") (loop (call $host) (br 0)))
              (func (export "work") (local $i i32)
                (loop (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br_if 0 (i32.lt_u (local.get $i) (i32.const 1000)))))
              (func (export "spin") (loop (call $tick) (br_if 0 (i32.const 1)))))
            """;

    /** Iterations of the nested {@code spin} loop so far. */
    private final java.util.concurrent.atomic.AtomicLong ticks = new java.util.concurrent.atomic.AtomicLong();

    private AsyncInstance reentering(AsyncInstance.Builder b, String nestedExport) {
        AtomicReference<AsyncInstance> self = new AtomicReference<>();
        AsyncInstance guest = b.withHostFunction(new HostFunction("env", "tick", FunctionType.of(List.of(), List.of()),
                (inst, args) -> {
                    ticks.incrementAndGet();
                    return null;
                })).withHostFunction(new HostFunction("env", "host", FunctionType.of(List.of(), List.of()),
                (inst, args) -> {
                    self.get().callBlocking(nestedExport);
                    return null;
                })).build();
        self.set(guest);
        return guest;
    }

    @Test
    void reEntrantCallsAreChargedToTheBudgetOfTheCallTheyRunIn() throws Exception {
        // Each nested call used to start with a fresh quantum, so the outer budget was never reached.
        try (AsyncInstance guest = reentering(AsyncInstance.builderFromWat(REENTER).withFuelBudget(1_000_000), "work")) {
            assertThatThrownBy(() -> guest.call("outer").get(60, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(FuelExhaustedException.class);
            assertThat(guest.metrics().fuelUsed()).isBetween(1_000_000L, 1_100_000L);
        }
    }

    @Test
    void aNestedInfiniteLoopStopsAtTheOuterBudgetAndDeadline() throws Exception {
        try (AsyncInstance guest = reentering(AsyncInstance.builderFromWat(REENTER).withFuelBudget(1_000_000), "spin")) {
            assertThatThrownBy(() -> guest.call("outer").get(60, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(FuelExhaustedException.class);
        }
        try (AsyncInstance guest = reentering(AsyncInstance.builderFromWat(REENTER)
                .withDeadline(Duration.ofMillis(200)), "spin")) {
            assertThatThrownBy(() -> guest.call("outer").get(60, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(DeadlineExceededException.class);
            // The nested loop was stopped, not left spinning on its thread.
            waitFor(() -> {
                long before = ticks.get();
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                return ticks.get() == before;
            });
        }
    }

    // ------------------------------------------------------------------ schedulers

    @Test
    void closingASchedulerCompletesEveryFuture() throws Exception {
        Scheduler scheduler = Scheduler.builder().withWorkers(1).withQuantum(10_000).build();
        AsyncInstance a = scheduler.guest(AsyncInstance.builderFromWat(SPIN)).build();
        AsyncInstance b = scheduler.guest(AsyncInstance.builderFromWat(SPIN)).build();
        CompletableFuture<long[]> running = a.call("spin");
        CompletableFuture<long[]> queued = b.call("spin");
        CompletableFuture<long[]> waiting = a.call("spin");
        Thread.sleep(100);
        scheduler.close();
        for (CompletableFuture<long[]> f : List.of(running, queued, waiting)) {
            assertThatThrownBy(() -> f.get(30, TimeUnit.SECONDS)).hasCauseInstanceOf(InstanceClosedException.class);
        }
    }

    @Test
    void aHighPriorityCpuBoundGuestDoesNotStarveALowerPriorityOne() throws Exception {
        try (Scheduler scheduler = Scheduler.builder().withWorkers(1).withQuantum(1_000).build()) {
            AsyncInstance hog = scheduler.guest(AsyncInstance.builderFromWat(SPIN).withPriority(10)).build();
            AsyncInstance hog2 = scheduler.guest(AsyncInstance.builderFromWat(SPIN).withPriority(10)).build();
            CompletableFuture<long[]> h1 = hog.call("spin");
            CompletableFuture<long[]> h2 = hog2.call("spin");
            Thread.sleep(50);
            AsyncInstance low = scheduler.guest(AsyncInstance.builderFromWat(
                    "(module (func (export \"one\") (result i32) (i32.const 1)))")).build();
            assertThat(low.call("one").get(30, TimeUnit.SECONDS)).containsExactly(1);
            assertThat(h1).isNotDone();
            assertThat(h2).isNotDone();
        }
    }

    /** Guests that never finish by themselves, one of each class, under a large budget. */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', textBlock = """
            br_if loop     | (module (func (export "main") (loop (br_if 0 (i32.const 1)))))
            br_table loop  | (module (func (export "main") (loop (br_table 0 0 (i32.const 0)))))
            16 MiB fills   | (module (memory 256) (func (export "main") (loop (memory.fill (i32.const 0) (i32.const 1) (i32.const 16777216)) (br 0))))
            table fills    | (module (table 100000 funcref) (func (export "main") (loop (table.fill (i32.const 0) (ref.null func) (i32.const 100000)) (br 0))))
            nested loops   | (module (func (export "main") (loop (loop (loop (loop (br 0)))))))
            """)
    void aOneWorkerSchedulerKeepsServingAShortJobNextToAHostileGuest(String name, String wat) throws Exception {
        try (Scheduler scheduler = Scheduler.builder().withWorkers(1).withQuantum(100_000).build()) {
            AsyncInstance hostile = scheduler.guest(AsyncInstance.builderFromWat(wat).withFuelBudget(Long.MAX_VALUE / 4)).build();
            CompletableFuture<long[]> endless = hostile.call("main");
            Thread.sleep(50);
            AsyncInstance job = scheduler.guest(AsyncInstance.builderFromWat(
                    "(module (func (export \"one\") (result i32) (i32.const 1)))")).build();
            for (int i = 0; i < 5; i++) {
                assertThat(job.call("one").get(10, TimeUnit.SECONDS)).as(name).containsExactly(1);
            }
            assertThat(endless).as(name + " is still running, sharing the worker").isNotDone();
            hostile.close();
            assertThatThrownBy(() -> endless.get(30, TimeUnit.SECONDS)).hasCauseInstanceOf(InstanceClosedException.class);
        }
    }

    @Test
    void aQuantumTimesWeightThatOverflowsIsRefused() {
        try (Scheduler scheduler = Scheduler.builder().withQuantum(Long.MAX_VALUE / 2).build()) {
            assertThatThrownBy(() -> scheduler.guest(AsyncInstance.builderFromWat(SPIN).withWeight(3)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("overflows");
        }
    }

    /** A scheduler keeps a guest's own quantum (times its weight) and refuses to take over its executor. */
    @Test
    void aSchedulerNeverOverwritesAGuestsOwnSettings() throws Exception {
        try (Scheduler scheduler = Scheduler.builder().withWorkers(1).withQuantum(1_000_000).build()) {
            AsyncInstance.Builder own = AsyncInstance.builderFromWat(SPIN).withFuelQuantum(300).withWeight(2);
            assertThat(scheduler.guest(own).quantum()).isEqualTo(600);
            assertThat(scheduler.guest(AsyncInstance.builderFromWat(SPIN)).quantum()).isEqualTo(1_000_000);
            ExecutorService mine = Executors.newSingleThreadExecutor();
            try {
                assertThatThrownBy(() -> scheduler.guest(AsyncInstance.builderFromWat(SPIN).withExecutor(mine)))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("executor of its own");
            } finally {
                mine.shutdown();
            }
        }
    }

    // ------------------------------------------------------------------ limits

    /** Two memories of {@code (min, max)} pages ({@code max} -1: none) and {@code grow1}, growing memory 1. */
    private static byte[] twoMemories(long min, long max) {
        ModuleModel m = new ModuleModel();
        m.memories().add(new io.asyncify4j.wasm.model.MemoryType(new io.asyncify4j.wasm.model.Limits(min, max, false, false)));
        m.memories().add(new io.asyncify4j.wasm.model.MemoryType(new io.asyncify4j.wasm.model.Limits(min, max, false, false)));
        int type = m.internFuncType(FuncType.of(List.of(io.asyncify4j.wasm.model.ValType.I32),
                List.of(io.asyncify4j.wasm.model.ValType.I32)));
        m.functions().add(new Function(type, List.of(), List.of(SimpleInstruction.of(Opcode.LOCAL_GET, 0),
                SimpleInstruction.of(Opcode.MEMORY_GROW, 1))));
        m.exports().add(new Export("grow1", ExternalKind.FUNCTION, 0));
        return WasmCodec.encode(m);
    }

    @Test
    void theMemoryCapHoldsForEveryMemoryNotOnlyTheFirst() throws Exception {
        try (AsyncInstance guest = AsyncInstance.builder(twoMemories(1, -1)).withMaxMemoryPages(4).build()) {
            assertThat(guest.callBlocking("grow1", 16_384)).containsExactly(-1);
            assertThat(guest.callBlocking("grow1", 3)).containsExactly(1);
            assertThat(guest.callBlocking("grow1", 1)).containsExactly(-1);
        }
    }

    @Test
    void theCapNeverRaisesAModulesOwnMaximum() throws Exception {
        String wat = "(module (memory 1 2) (func (export \"grow\") (param i32) (result i32) (memory.grow (local.get 0))))";
        try (AsyncInstance guest = AsyncInstance.builderFromWat(wat).withMaxMemoryPages(256).build()) {
            assertThat(guest.callBlocking("grow", 10)).containsExactly(-1);
            assertThat(guest.callBlocking("grow", 1)).containsExactly(1);
            assertThat(guest.callBlocking("grow", 1)).containsExactly(-1);
        }
    }

    @Test
    void tablesAreBounded() throws Exception {
        String wat = """
                (module (table 1 funcref)
                  (func (export "grow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))
                """;
        try (AsyncInstance guest = AsyncInstance.builderFromWat(wat).build()) {
            assertThat(guest.callBlocking("grow", 100_000_000)).containsExactly(-1);
        }
        try (AsyncInstance guest = AsyncInstance.builderFromWat(wat).withMaxTableElements(10).build()) {
            assertThat(guest.callBlocking("grow", 10)).containsExactly(-1);
            assertThat(guest.callBlocking("grow", 9)).containsExactly(1);
        }
        assertThatThrownBy(() -> AsyncInstance.builderFromWat("(module (table 100 funcref))").withMaxTableElements(10).build())
                .isInstanceOf(LimitExceededException.class).hasMessageContaining("table 0");
    }

    @Test
    void totalGuestBytesAreBoundedAtBuild() {
        assertThatThrownBy(() -> AsyncInstance.builder(twoMemories(1, 10)).withMaxGuestBytes(15L * 65536).build())
                .isInstanceOf(LimitExceededException.class).hasMessageContaining("maxGuestBytes");
        AsyncInstance.builder(twoMemories(1, 10)).withMaxGuestBytes(20L * 65536).build().close();
    }

    @Test
    void theAsyncifyStackLimitIsExact() throws Exception {
        String wat = """
                (module (import "env" "wait" (func $wait))
                  (func $down (export "down") (param $n i32)
                    (if (local.get $n) (then (call $down (i32.sub (local.get $n) (i32.const 1)))) (else (call $wait)))))
                """;
        CompletableFuture<Void> never = new CompletableFuture<>();
        try (AsyncInstance guest = AsyncInstance.builderFromWat(wat).withMaxAsyncifyStackBytes(1000)
                .withAsyncImport(AsyncImport.ofVoid("env", "wait", () -> never)).build()) {
            // 200 frames need several KiB: far below the 64 KiB page the data memory grows by.
            assertThatThrownBy(() -> guest.call("down", 200).get(10, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(AsyncifyStackOverflowException.class);
            assertThat(never).isCancelled();
        }
    }

    // ------------------------------------------------------------------ contracts with the host

    private static final String FETCH = """
            (module (import "env" "fetch" (func $fetch (param i32) (result i32)))
              (func (export "f") (param i32) (result i32) (call $fetch (local.get 0)))
              (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))
            """;

    @Test
    void anAsyncImportCompletingWithNullOrTooFewValuesFailsTheCallAndTheInstanceStaysUsable() throws Exception {
        AtomicReference<long[]> answer = new AtomicReference<>();
        try (AsyncInstance guest = AsyncInstance.builderFromWat(FETCH)
                .withAsyncImport(AsyncImport.of("env", "fetch", FunctionType.of(List.of(ValType.I32), List.of(ValType.I32)),
                        args -> CompletableFuture.supplyAsync(answer::get, CompletableFuture.delayedExecutor(5, TimeUnit.MILLISECONDS))))
                .build()) {
            answer.set(null);
            assertThatThrownBy(() -> guest.call("f", 1).get(10, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(LimitExceededException.class).hasMessageContaining("env.fetch");
            answer.set(new long[0]);
            assertThatThrownBy(() -> guest.call("f", 1).get(10, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(LimitExceededException.class);
            answer.set(new long[] {41});
            assertThat(guest.call("f", 1).get(10, TimeUnit.SECONDS)).containsExactly(41);
        }
    }

    @Test
    void argumentsAreCheckedAgainstTheExportsType() throws Exception {
        try (AsyncInstance guest = AsyncInstance.builderFromWat(FETCH)
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", CompletableFuture::completedFuture)).build()) {
            assertThatThrownBy(() -> guest.call("add", 1).get(10, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(IllegalArgumentException.class).hasMessageContaining("given 1");
            assertThatThrownBy(() -> guest.call("add", 1, 2, 3).get(10, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> guest.call("add", 1, 1L << 40).get(10, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(IllegalArgumentException.class).hasMessageContaining("32 bits");
            assertThatThrownBy(() -> guest.call("nope").get(10, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(IllegalArgumentException.class).hasMessageContaining("nope");
            assertThatThrownBy(() -> guest.call("asyncify_start_unwind", 0).get(10, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(IllegalArgumentException.class);
            assertThat(guest.callBlocking("add", 2, 3)).containsExactly(5);
        }
    }

    @Test
    void cancellingACallCancelsTheHostFutureItWaitsOn() throws Exception {
        CompletableFuture<Integer> host = new CompletableFuture<>();
        try (AsyncInstance guest = AsyncInstance.builderFromWat(FETCH)
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> host)).build()) {
            CompletableFuture<long[]> call = guest.call("f", 1);
            waitFor(() -> guest.suspendedCalls() == 1);
            call.cancel(true);
            assertThat(host).isCancelled();
            waitFor(() -> guest.suspendedCalls() == 0);
            // A cancelled suspended call leaves the instance usable.
            assertThat(guest.callBlocking("add", 2, 3)).containsExactly(5);
        }
    }

    @Test
    void callsRunOneAtATimeByDefault() throws Exception {
        String wat = """
                (module (import "env" "fetch" (func $fetch (param i32) (result i32)))
                  (global $g (mut i32) (i32.const 0))
                  (func (export "f") (param i32) (result i32) (local $before i32)
                    (local.set $before (global.get $g))
                    (global.set $g (i32.add (global.get $g) (local.get 0)))
                    (drop (call $fetch (local.get 0)))
                    (global.set $g (local.get $before))
                    (local.get $before)))
                """;
        try (AsyncInstance guest = AsyncInstance.builderFromWat(wat)
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch",
                        x -> CompletableFuture.supplyAsync(() -> x, CompletableFuture.delayedExecutor(20, TimeUnit.MILLISECONDS))))
                .build()) {
            List<CompletableFuture<long[]>> calls = List.of(guest.call("f", 1), guest.call("f", 2), guest.call("f", 3));
            for (CompletableFuture<long[]> c : calls) {
                assertThat(c.get(10, TimeUnit.SECONDS)).containsExactly(0); // each saw the state the previous restored
            }
        }
    }

    @Test
    void aCancelledWaitingCallNeverRuns() throws Exception {
        CompletableFuture<Integer> host = new CompletableFuture<>();
        try (AsyncInstance guest = AsyncInstance.builderFromWat(FETCH)
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> x == 1 ? host : CompletableFuture.completedFuture(x)))
                .build()) {
            CompletableFuture<long[]> first = guest.call("f", 1);
            CompletableFuture<long[]> second = guest.call("f", 2);
            waitFor(() -> guest.suspendedCalls() == 1);
            second.cancel(true);
            host.complete(10);
            assertThat(first.get(10, TimeUnit.SECONDS)).containsExactly(10);
            assertThatThrownBy(() -> second.get(1, TimeUnit.SECONDS)).isInstanceOf(CancellationException.class);
            assertThat(guest.call("f", 3).get(10, TimeUnit.SECONDS)).containsExactly(3);
        }
    }

    @Test
    void aSuspendedCallWhoseFutureIsObtrudedIsGivenUp() throws Exception {
        // Forcing a failure on the caller's future gives the call up as cancelling it does: the instance
        // does not keep the suspended call (nor resume it when its host future completes later).
        CompletableFuture<Integer> host = new CompletableFuture<>();
        try (AsyncInstance guest = AsyncInstance.builderFromWat(FETCH)
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> x == 1 ? host : CompletableFuture.completedFuture(x)))
                .build()) {
            CompletableFuture<long[]> first = guest.call("f", 1);
            waitFor(() -> guest.suspendedCalls() == 1);
            first.obtrudeException(new IllegalStateException("given up by the caller"));
            waitFor(() -> guest.suspendedCalls() == 0);
            host.complete(10);
            assertThat(guest.call("f", 3).get(10, TimeUnit.SECONDS)).containsExactly(3);
            assertThatThrownBy(() -> first.get(1, TimeUnit.SECONDS)).hasCauseInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void anEngineExceptionInGuestCodeIsATypedTrap() throws Exception {
        // Chicory 1.7.5 indexed table.init's source as a signed int: an out-of-bounds offset above 2^31
        // escaped as ArrayIndexOutOfBoundsException instead of a trap (found by the mutation fuzzer).
        // Endive traps (EngineLimitationsTest); either way the call fails with a typed trap.
        String wat = """
                (module (table 1 funcref) (elem $e func $f) (func $f)
                  (func (export "init") (param i32) (table.init $e (i32.const 0) (local.get 0) (i32.const 1)))
                  (func (export "one") (result i32) (i32.const 1)))
                """;
        try (AsyncInstance guest = AsyncInstance.builderFromWat(wat).build()) {
            assertThatThrownBy(() -> guest.call("init", 0x8000_0000L).get(10, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(GuestTrapException.class);
            assertThat(guest.callBlocking("one")).containsExactly(1); // a trap leaves the instance usable
        }
    }

    @Test
    void callsWaitingBehindACancelledOneStillRun() throws Exception {
        // A hand-run executor, so the test decides what runs between the instance's tasks.
        java.util.concurrent.ConcurrentLinkedQueue<Runnable> tasks = new java.util.concurrent.ConcurrentLinkedQueue<>();
        Runnable runAll = () -> {
            for (Runnable t; (t = tasks.poll()) != null; ) {
                t.run();
            }
        };
        CompletableFuture<Integer> host = new CompletableFuture<>();
        try (AsyncInstance guest = AsyncInstance.builderFromWat(FETCH).withExecutor(tasks::add)
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> x == 1 ? host : CompletableFuture.completedFuture(x)))
                .build()) {
            CompletableFuture<long[]> first = guest.call("f", 1);
            runAll.run();
            assertThat(guest.suspendedCalls()).isOne();
            CompletableFuture<long[]> second = guest.call("f", 2);
            CompletableFuture<long[]> third = guest.call("f", 3);
            runAll.run(); // both wait behind the suspended first call
            host.complete(10);
            tasks.poll().run(); // the first call resumes and finishes; the second is next in line, not started yet
            assertThat(first).isCompletedWithValueMatching(r -> r[0] == 10);
            assertThat(second).isNotDone();
            second.cancel(true);
            runAll.run();
            assertThat(third).as("the call behind the cancelled one runs").isCompletedWithValueMatching(r -> r[0] == 3);
        }
    }
}
