package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;

import io.asyncify4j.asyncify.AsyncifyAbi;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * An instance costs little, suspended or not: its asyncify data memory has bytes only while a stack moves
 * through it (the unwind, until the stack is copied out; the rewind), and is empty otherwise.
 */
class InstanceFootprintTest {

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void theDataMemoryIsEmptyBetweenSuspensions(Engine engine) throws Exception {
        String wat = """
                (module
                  (import "env" "fetch" (func $fetch (param i32) (result i32)))
                  (func (export "plain") (result i32) (i32.const 5))
                  (func (export "f") (param i32) (result i32) (i32.add (local.get 0) (call $fetch (local.get 0)))))
                """;
        // The host's futures are completed by the test once the call is seen suspended, so every call
        // suspends however loaded the machine is (a future completing on a timer may finish first).
        java.util.concurrent.BlockingQueue<CompletableFuture<Integer>> pending = new java.util.concurrent.LinkedBlockingQueue<>();
        try (AsyncInstance guest = AsyncInstance.builderFromWat(wat).withEngine(engine)
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> {
                    CompletableFuture<Integer> f = new CompletableFuture<>();
                    pending.add(f);
                    return f.thenApply(v -> 10 * x);
                })).build()) {
            var data = guest.instance().exports().memory(AsyncifyAbi.DATA_MEMORY_EXPORT);
            assertThat(data.pages()).isZero();
            assertThat(guest.callBlocking("plain")).containsExactly(5);
            assertThat(data.pages()).isZero();
            for (int x : new int[] {3, 4}) {
                CompletableFuture<long[]> call = guest.call("f", x);
                AsyncInstanceTest.waitFor(() -> guest.suspendedCalls() == 1);
                assertThat(data.pages()).as("while suspended").isZero();
                pending.take().complete(0);
                assertThat(call.get(30, TimeUnit.SECONDS)).containsExactly(11L * x);
                assertThat(data.pages()).as("after the call").isZero();
            }
            assertThat(guest.metrics().suspensions()).isEqualTo(2);
        }
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void aSuspendedCallLeavesTheDataMemoryEmptyAndResumesFromItsSavedStack(Engine engine) throws Exception {
        // $down recurses to a depth given by the caller, so its stack is larger than one page at depth 10,000
        // (the data memory grows while the unwind runs) and the rewind needs several pages back.
        String wat = """
                (module
                  (import "env" "fetch" (func $fetch (param i32) (result i32)))
                  (func $down (param $n i32) (result i32)
                    (if (result i32) (i32.eqz (local.get $n))
                      (then (call $fetch (i32.const 7)))
                      (else (i32.add (local.get $n) (call $down (i32.sub (local.get $n) (i32.const 1)))))))
                  (func (export "f") (param i32) (result i32) (call $down (local.get 0))))
                """;
        java.util.List<CompletableFuture<Integer>> hostFutures = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        AsyncImport fetch = AsyncImport.ofIntToInt("env", "fetch", x -> {
            CompletableFuture<Integer> f = new CompletableFuture<>();
            hostFutures.add(f);
            return f;
        });
        try (AsyncInstance guest = AsyncInstance.builderFromWat(wat).withEngine(engine).withInterleavedCalls()
                .withAsyncImport(fetch).build()) {
            var data = guest.instance().exports().memory(AsyncifyAbi.DATA_MEMORY_EXPORT);
            CompletableFuture<long[]> shallow = guest.call("f", 2);
            CompletableFuture<long[]> deep = guest.call("f", 10_000);
            awaitSuspended(guest, 2);
            assertThat(data.pages()).isZero();
            assertThat(guest.suspendedStackBytes()).isGreaterThan(65_536);
            hostFutures.get(1).complete(7);
            assertThat(deep.get(30, TimeUnit.SECONDS)).containsExactly(7 + 10_000L * 10_001 / 2);
            assertThat(data.pages()).isZero();
            hostFutures.get(0).complete(7);
            assertThat(shallow.get(30, TimeUnit.SECONDS)).containsExactly(7 + 3);
            assertThat(data.pages()).isZero();
        }
    }

    private static void awaitSuspended(AsyncInstance guest, int calls) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (guest.suspendedCalls() < calls && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(guest.suspendedCalls()).isEqualTo(calls);
    }
}
