package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import run.endive.runtime.HostFunction;
import run.endive.runtime.TrapException;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class AsyncInstanceTest {

    private static final String SUM_WITH_SLEEPS = """
            (module
              (import "env" "sleep" (func $sleep (param i32)))
              (import "env" "fetch" (func $fetch (param i32) (result i32)))
              (func (export "sum") (param $n i32) (result i32) (local $acc i32)
                (block $done
                  (loop $next
                    (br_if $done (i32.eqz (local.get $n)))
                    (call $sleep (local.get $n))
                    (local.set $acc (i32.add (local.get $acc) (call $fetch (local.get $n))))
                    (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                    (br $next)))
                (local.get $acc))
              (func $deep (export "deep") (param $n i32) (result i32)
                (if (result i32) (i32.eqz (local.get $n))
                  (then (call $fetch (i32.const 1)))
                  (else (i32.add (i32.const 1) (call $deep (i32.sub (local.get $n) (i32.const 1)))))))
              (func (export "trap_after_resume") (result i32)
                (drop (call $fetch (i32.const 1)))
                (unreachable)))
            """;

    private final ConcurrentLinkedQueue<CompletableFuture<long[]>> fetches = new ConcurrentLinkedQueue<>();

    private AsyncInstance instance(Engine engine, boolean deferFetch) {
        return builder(engine, deferFetch).build();
    }

    private AsyncInstance.Builder builder(Engine engine, boolean deferFetch) {
        return AsyncInstance.builderFromWat(SUM_WITH_SLEEPS)
                .withEngine(engine)
                .withAsyncImport(sleep())
                .withAsyncImport(fetch(deferFetch));
    }

    private static AsyncImport sleep() {
        return AsyncImport.ofIntToVoid("env", "sleep",
                ms -> CompletableFuture.runAsync(() -> { }, CompletableFuture.delayedExecutor(1, TimeUnit.MILLISECONDS)));
    }

    private AsyncImport fetch(boolean deferFetch) {
        return new AsyncImport("env", "fetch", FunctionType.of(List.of(ValType.I32), List.of(ValType.I32)),
                (inst, args) -> {
                    if (!deferFetch) {
                        return CompletableFuture.completedFuture(new long[] {args[0] * 10});
                    }
                    CompletableFuture<long[]> f = new CompletableFuture<>();
                    fetches.add(f);
                    return f;
                });
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void suspendsAtEveryAsyncImportAndResumes(Engine engine) throws Exception {
        try (AsyncInstance guest = instance(engine, false)) {
            assertThat(guest.call("sum", 20).get(10, TimeUnit.SECONDS)).containsExactly(2100);
        }
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void coroutinesInterleaveOnOneInstance(Engine engine) throws Exception {
        try (AsyncInstance guest = builder(engine, true).withInterleavedCalls().build()) {
            CompletableFuture<long[]> a = guest.call("deep", 100);
            CompletableFuture<long[]> b = guest.call("deep", 7);
            // The import hands out its future before the guest has unwound: wait for both suspensions.
            waitFor(() -> fetches.size() == 2 && guest.suspendedCalls() == 2);
            // Complete in the reverse order of suspension.
            CompletableFuture<long[]> first = fetches.poll();
            CompletableFuture<long[]> second = fetches.poll();
            second.complete(new long[] {1000});
            first.complete(new long[] {2000});
            long[] ra = a.get(10, TimeUnit.SECONDS);
            long[] rb = b.get(10, TimeUnit.SECONDS);
            assertThat(ra[0] + rb[0]).isEqualTo(100 + 7 + 3000);
            assertThat(ra[0]).isIn(100L + 1000, 100L + 2000);
        }
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void failingHostFutureFailsTheCallAndTheInstanceStaysUsable(Engine engine) throws Exception {
        try (AsyncInstance guest = instance(engine, true)) {
            CompletableFuture<long[]> call = guest.call("deep", 3);
            waitFor(() -> !fetches.isEmpty());
            IllegalStateException cause = new IllegalStateException("backend down");
            fetches.poll().completeExceptionally(cause);
            assertThatThrownBy(() -> call.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class).hasCause(cause);
            CompletableFuture<long[]> again = guest.call("deep", 2);
            waitFor(() -> !fetches.isEmpty());
            fetches.poll().complete(new long[] {5});
            assertThat(again.get(10, TimeUnit.SECONDS)).containsExactly(7);
        }
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void cancelAndTimeoutAbandonASuspendedCall(Engine engine) throws Exception {
        try (AsyncInstance guest = instance(engine, true)) {
            CompletableFuture<long[]> call = guest.call("deep", 50);
            waitFor(() -> !fetches.isEmpty() && guest.suspendedCalls() == 1);
            CompletableFuture<long[]> pending = fetches.poll();
            assertThat(call.cancel(true)).isTrue();
            assertThat(pending).isCancelled();
            assertThatThrownBy(call::get).isInstanceOf(CancellationException.class);

            CompletableFuture<long[]> timed = guest.call("deep", 5).orTimeout(50, TimeUnit.MILLISECONDS);
            assertThatThrownBy(() -> timed.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(TimeoutException.class);
            fetches.clear();

            CompletableFuture<long[]> next = guest.call("deep", 1);
            waitFor(() -> !fetches.isEmpty());
            fetches.poll().complete(new long[] {41});
            assertThat(next.get(10, TimeUnit.SECONDS)).containsExactly(42);
        }
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void trapAfterResumeFailsTheCallWithTheTrap(Engine engine) throws Exception {
        try (AsyncInstance guest = instance(engine, true)) {
            CompletableFuture<long[]> call = guest.call("trap_after_resume");
            waitFor(() -> !fetches.isEmpty());
            fetches.poll().complete(new long[] {1});
            assertThatThrownBy(() -> call.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(GuestTrapException.class)
                    .hasRootCauseInstanceOf(TrapException.class);
            CompletableFuture<long[]> next = guest.call("deep", 0);
            waitFor(() -> !fetches.isEmpty());
            fetches.poll().complete(new long[] {9});
            assertThat(next.get(10, TimeUnit.SECONDS)).containsExactly(9);
        }
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void asyncifyStackOverflowIsATypedErrorNamingTheFunction(Engine engine) throws Exception {
        try (AsyncInstance guest = AsyncInstance.builderFromWat(SUM_WITH_SLEEPS)
                .withEngine(engine)
                .withMaxAsyncifyStackBytes(1024)
                .withAsyncImport(AsyncImport.ofIntToVoid("env", "sleep", ms -> new CompletableFuture<>()))
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> new CompletableFuture<>()))
                .build()) {
            CompletableFuture<long[]> call = guest.call("deep", 10_000);
            assertThatThrownBy(() -> call.get(30, TimeUnit.SECONDS)).hasCauseInstanceOf(AsyncifyStackOverflowException.class)
                    .hasMessageContaining("func[");
            // Still usable: a shallow call suspends and is abandoned cleanly.
            CompletableFuture<long[]> shallow = guest.call("deep", 1);
            waitFor(() -> guest.suspendedCalls() == 1);
            shallow.cancel(true);
        }
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void alreadyCompletedFutureDoesNotSuspend(Engine engine) throws Exception {
        try (AsyncInstance guest = instance(engine, false)) {
            assertThat(guest.call("deep", 30).get(10, TimeUnit.SECONDS)).containsExactly(40);
            assertThat(guest.suspendedCalls()).isZero();
        }
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void hostFunctionMayCallBackIntoTheGuest(Engine engine) throws Exception {
        AsyncInstance[] self = new AsyncInstance[1];
        String wat = """
                (module
                  (import "env" "callback" (func $callback (param i32) (result i32)))
                  (func (export "twice") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
                  (func (export "outer") (param i32) (result i32) (call $callback (local.get 0))))
                """;
        try (AsyncInstance guest = AsyncInstance.builderFromWat(wat)
                .withEngine(engine)
                .withHostFunction(new HostFunction("env", "callback", FunctionType.of(List.of(ValType.I32), List.of(ValType.I32)),
                        (inst, args) -> self[0].callBlocking("twice", args[0])))
                .build()) {
            self[0] = guest;
            assertThat(guest.call("outer", 21).get(10, TimeUnit.SECONDS)).containsExactly(42);
        }
    }

    @org.junit.jupiter.api.Test
    void instancesOfOneModuleShareItsTransformAndParse() {
        // A scheduler builds thousands of guests of one module: each must not parse (and validate) the
        // transformed module again. They are made from one AsyncModule, which holds the engine's parse.
        AsyncModule module = AsyncModule.builderFromWat(SUM_WITH_SLEEPS).withAsyncImports("env.sleep", "env.fetch").build();
        InstancePre pre = Linker.builder().withAsyncImport(sleep()).withAsyncImport(fetch(false)).build()
                .instantiatePre(module);
        try (AsyncInstance first = pre.instantiate()) {
            System.gc();
            try (AsyncInstance second = pre.instantiate()) {
                assertThat(second.instance().module()).isSameAs(first.instance().module());
            }
        }
    }

    static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not reached within 10 s");
            }
            Thread.sleep(2);
        }
    }
}
