package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import run.endive.runtime.CallResult;
import run.endive.runtime.HostFunction;
import run.endive.runtime.Instance;
import run.endive.runtime.WasmFunctionHandle;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;

/**
 * Externref values are Java objects in the engine: a reference the host made must come back as the
 * same object after the guest was suspended holding it, in a local, on the operand stack and in a
 * table, on the interpreter and on the compiler, also with two calls suspended at once (each call's
 * saved references move out of the instance with its stack).
 */
class ReferencesAcrossSuspensionsTest {

    static final String GUEST = """
            (module
              (import "env" "make" (func $make (param i32) (result externref)))
              (import "env" "check" (func $check (param externref i32) (result i32)))
              (import "env" "wait" (func $wait (param i32) (result i32)))
              (table $keep 1 externref)
              (func $inner (param $n i32) (result i32)
                (local $r externref)
                (local.set $r (call $make (i32.add (local.get $n) (i32.const 1))))
                ;; a reference on the operand stack across the suspension, one in a local
                (call $check (call $make (i32.add (local.get $n) (i32.const 2))) (call $wait (local.get $n)))
                (i32.add (call $check (local.get $r) (i32.const 0))))
              (func (export "run") (param $n i32) (result i32)
                (local $outer externref)
                (local.set $outer (call $make (local.get $n)))
                (table.set $keep (i32.const 0) (local.get $outer))
                (call $inner (local.get $n))
                (call $check (local.get $outer) (i32.const 0))
                (i32.add)
                ;; a call suspended after this one may have replaced the table slot: only this call's
                ;; own saved stack holds $outer
                (i32.add (call $check (local.get $outer) (call $wait (local.get $n)))))
            )
            """;

    /** A host object the guest can only hold, not read. */
    record Token(int id) {}

    /** make(n) gives out a new Token; check(ref, x) returns the token's id if it is one we made, else -1000. */
    static final class Host {
        final List<Token> made = new java.util.concurrent.CopyOnWriteArrayList<>();
        final List<String> problems = new java.util.concurrent.CopyOnWriteArrayList<>();

        HostFunction make() {
            return new HostFunction("env", "make", FunctionType.of(List.of(ValType.I32), List.of(ValType.ExternRef)),
                    new WasmFunctionHandle() {
                        @Override
                        public long[] apply(Instance instance, long... args) {
                            throw new AssertionError("the engine must pass externref results as objects");
                        }

                        @Override
                        public CallResult applyWithRefs(Instance instance, long[] args, Object[] refs) {
                            Token t = new Token((int) args[0]);
                            made.add(t);
                            return CallResult.of(new long[1], new Object[] {t});
                        }
                    });
        }

        HostFunction check() {
            return new HostFunction("env", "check",
                    FunctionType.of(List.of(ValType.ExternRef, ValType.I32), List.of(ValType.I32)),
                    new WasmFunctionHandle() {
                        @Override
                        public long[] apply(Instance instance, long... args) {
                            throw new AssertionError("the engine must pass externref arguments as objects");
                        }

                        @Override
                        public CallResult applyWithRefs(Instance instance, long[] args, Object[] refs) {
                            Object ref = refs == null ? null : refs[0];
                            boolean ours = made.stream().anyMatch(t -> t == ref);
                            if (!ours) {
                                problems.add("not a token we made: " + ref);
                            }
                            long id = ours ? ((Token) ref).id() : -1000;
                            return CallResult.of(new long[] {id + (int) args[1]}, null);
                        }
                    });
        }
    }

    /** The futures of the wait(n) calls, per n, in call order. */
    static final class Waits {
        private final java.util.Map<Integer, List<CompletableFuture<Integer>>> byArg = new java.util.HashMap<>();

        synchronized CompletableFuture<Integer> add(int n) {
            CompletableFuture<Integer> f = new CompletableFuture<>();
            byArg.computeIfAbsent(n, k -> new ArrayList<>()).add(f);
            notifyAll();
            return f;
        }

        /** The k-th (from 0) wait of the call with argument n, once the guest has made it. */
        synchronized CompletableFuture<Integer> await(int n, int k) throws InterruptedException {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (byArg.getOrDefault(n, List.of()).size() <= k) {
                long left = end - System.nanoTime();
                assertThat(left).as("wait #%d of run(%d)", k, n).isPositive();
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            return byArg.get(n).get(k);
        }

        synchronized int count(int n) {
            return byArg.getOrDefault(n, List.of()).size();
        }
    }

    private static AsyncInstance guest(Engine engine, Host host, Waits waits, boolean interleaved) {
        AsyncInstance.Builder b = AsyncInstance.builderFromWat(GUEST)
                .withEngine(engine)
                .withHostFunction(host.make())
                .withHostFunction(host.check())
                .withAsyncImport(AsyncImport.ofIntToInt("env", "wait", waits::add));
        if (interleaved) {
            b.withInterleavedCalls();
        }
        return b.build();
    }

    /** run(n) = (n+2 + w1) + (n+1) + n + (n + w2) with w1, w2 the two waits' values. */
    private static long expected(int n, int w1, int w2) {
        return (n + 2 + w1) + (n + 1) + n + (n + w2);
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void referencesSurviveASuspension(Engine engine) throws Exception {
        Host host = new Host();
        Waits waits = new Waits();
        try (AsyncInstance guest = guest(engine, host, waits, false)) {
            CompletableFuture<long[]> call = guest.call("run", 10);
            CompletableFuture<Integer> w1 = waits.await(10, 0);
            assertThat(call).isNotDone();
            w1.complete(100);
            waits.await(10, 1).complete(200);
            assertThat(call.get(10, TimeUnit.SECONDS)).containsExactly(expected(10, 100, 200));
        }
        assertThat(host.problems).isEmpty();
        assertThat(host.made).extracting(Token::id).containsExactly(10, 11, 12);
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void twoSuspendedCallsKeepTheirOwnReferences(Engine engine) throws Exception {
        Host host = new Host();
        Waits waits = new Waits();
        try (AsyncInstance guest = guest(engine, host, waits, true)) {
            CompletableFuture<long[]> first = guest.call("run", 10);
            CompletableFuture<Integer> first1 = waits.await(10, 0);
            CompletableFuture<long[]> second = guest.call("run", 20);
            CompletableFuture<Integer> second1 = waits.await(20, 0); // both suspended at once
            second1.complete(1);  // the second call resumes first (overwriting the first's table slot)
            CompletableFuture<Integer> second2 = waits.await(20, 1);
            first1.complete(2);   // then the first, with its own references back
            waits.await(10, 1).complete(3);
            second2.complete(4);
            assertThat(first.get(10, TimeUnit.SECONDS)).containsExactly(expected(10, 2, 3));
            assertThat(second.get(10, TimeUnit.SECONDS)).containsExactly(expected(20, 1, 4));
            assertThat(waits.count(10)).isEqualTo(2);
        }
        assertThat(host.problems).isEmpty();
        assertThat(host.made).extracting(Token::id).containsExactlyInAnyOrder(10, 11, 12, 20, 21, 22);
    }
}
