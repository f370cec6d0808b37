package io.asyncify4j.host;

import static io.asyncify4j.host.AsyncInstanceTest.waitFor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import run.endive.runtime.HostFunction;
import run.endive.runtime.WasmException;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Threading, deep recursion, shadow stacks, Binaryen-asyncified modules and exceptions. */
class ControllerSemanticsTest {

    private static final String RECURSIVE = """
            (module
              (import "env" "fetch" (func $fetch (param i32) (result i32)))
              (import "env" "enter" (func $enter))
              (import "env" "leave" (func $leave))
              (func $deep (export "deep") (param $n i32) (result i32)
                (if (result i32) (i32.eqz (local.get $n))
                  (then (call $fetch (i32.const 1)))
                  (else (i32.add (i32.const 1) (call $deep (i32.sub (local.get $n) (i32.const 1)))))))
              (func (export "guarded") (param $n i32) (result i32) (local $r i32)
                (call $enter)
                (local.set $r (call $fetch (local.get $n)))
                (call $leave)
                (i32.add (local.get $r) (call $fetch (i32.const 1)))))
            """;

    private static HostFunction noop(String name) {
        return new HostFunction("env", name, FunctionType.of(List.of(), List.of()), (inst, args) -> null);
    }

    /** At least 50,000 nested wasm calls, suspended at the bottom and resumed, on the interpreter. */
    @Test
    void deepRecursionSuspendsAndResumes() throws Exception {
        try (AsyncInstance guest = AsyncInstance.builderFromWat(RECURSIVE)
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch",
                        x -> CompletableFuture.supplyAsync(() -> 7, CompletableFuture.delayedExecutor(1, TimeUnit.MILLISECONDS))))
                .withHostFunction(noop("enter"))
                .withHostFunction(noop("leave"))
                .withMaxAsyncifyStackBytes(64L << 20)
                .build()) {
            assertThat(guest.call("deep", 50_000).get(120, TimeUnit.SECONDS)).containsExactly(50_007);
        }
    }

    /** Many instances driven from many threads; no instance is ever entered by two threads at once. */
    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void instancesAreNeverEnteredTwiceAtOnce(Engine engine) throws Exception {
        int instances = 8;
        int callsPerInstance = 40;
        ExecutorService callers = Executors.newFixedThreadPool(4);
        ExecutorService completions = Executors.newFixedThreadPool(3);
        List<AsyncInstance> guests = new ArrayList<>();
        AtomicInteger violations = new AtomicInteger();
        List<CompletableFuture<long[]>> results = new ArrayList<>();
        try {
            for (int i = 0; i < instances; i++) {
                AtomicInteger inside = new AtomicInteger();
                guests.add(AsyncInstance.builderFromWat(RECURSIVE)
                        .withEngine(engine)
                        .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch",
                                x -> CompletableFuture.supplyAsync(() -> x, completions)))
                        .withHostFunction(new HostFunction("env", "enter", FunctionType.of(List.of(), List.of()),
                                (inst, args) -> {
                                    if (inside.incrementAndGet() != 1) {
                                        violations.incrementAndGet();
                                    }
                                    inside.decrementAndGet();
                                    return null;
                                }))
                        .withHostFunction(noop("leave"))
                        .build());
            }
            List<CompletableFuture<CompletableFuture<long[]>>> submitted = new ArrayList<>();
            for (int c = 0; c < callsPerInstance; c++) {
                for (AsyncInstance g : guests) {
                    int arg = c;
                    submitted.add(CompletableFuture.supplyAsync(() -> g.call("guarded", arg), callers));
                }
            }
            for (CompletableFuture<CompletableFuture<long[]>> s : submitted) {
                results.add(s.get(30, TimeUnit.SECONDS));
            }
            long total = 0;
            for (CompletableFuture<long[]> r : results) {
                total += r.get(60, TimeUnit.SECONDS)[0];
            }
            // Each call returns fetch(c) + fetch(1) = c + 1.
            assertThat(total).isEqualTo((long) instances * (callsPerInstance * (callsPerInstance - 1) / 2 + callsPerInstance));
            assertThat(violations).hasValue(0);
        } finally {
            guests.forEach(AsyncInstance::close);
            callers.shutdownNow();
            completions.shutdownNow();
        }
    }

    @Test
    void interleavingOnAModuleWithAShadowStackIsRefused() throws Exception {
        String wat = """
                (module
                  (import "env" "fetch" (func $fetch (param i32) (result i32)))
                  (global $__stack_pointer (export "__stack_pointer") (mut i32) (i32.const 65536))
                  (memory 1)
                  (func (export "f") (result i32) (call $fetch (i32.const 1))))
                """;
        ConcurrentLinkedQueue<CompletableFuture<Integer>> pending = new ConcurrentLinkedQueue<>();
        assertThatThrownBy(() -> AsyncInstance.builderFromWat(wat).withInterleavedCalls()
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> new CompletableFuture<>())).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("shadow stack");
        // One call at a time (the default): the second call waits for the first, then runs.
        try (AsyncInstance guest = AsyncInstance.builderFromWat(wat)
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> {
                    CompletableFuture<Integer> f = new CompletableFuture<>();
                    pending.add(f);
                    return f;
                }))
                .build()) {
            CompletableFuture<long[]> first = guest.call("f");
            CompletableFuture<long[]> second = guest.call("f");
            waitFor(() -> guest.suspendedCalls() == 1);
            assertThat(pending).hasSize(1);
            assertThat(second).isNotDone();
            pending.poll().complete(5);
            assertThat(first.get(10, TimeUnit.SECONDS)).containsExactly(5);
            waitFor(() -> pending.size() == 1);
            pending.poll().complete(6);
            assertThat(second.get(10, TimeUnit.SECONDS)).containsExactly(6);
        }
        // Declaring the shadow-stack pointer per coroutine allows interleaving, and its value follows each call.
        try (AsyncInstance guest = AsyncInstance.builderFromWat(wat)
                .withInterleavedCalls()
                .withCoroutineGlobals("__stack_pointer")
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> {
                    CompletableFuture<Integer> f = new CompletableFuture<>();
                    pending.add(f);
                    return f;
                }))
                .build()) {
            CompletableFuture<long[]> a = guest.call("f");
            CompletableFuture<long[]> b = guest.call("f");
            waitFor(() -> pending.size() == 2);
            pending.poll().complete(1);
            pending.poll().complete(2);
            assertThat(a.get(10, TimeUnit.SECONDS)[0] + b.get(10, TimeUnit.SECONDS)[0]).isEqualTo(3);
        }
    }

    /** A module asyncified ahead of time by Binaryen's wasm-opt (see binaryen-input.wat) is driven too. */
    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void drivesAModuleAsyncifiedByBinaryen(Engine engine) throws Exception {
        byte[] wasm;
        try (InputStream in = getClass().getResourceAsStream("binaryen-asyncified.wasm")) {
            wasm = in.readAllBytes();
        }
        AtomicLong fetches = new AtomicLong();
        for (DataRegion region : List.of(DataRegion.at(40_000, 4096), DataRegion.allocate("alloc", 4096))) {
            try (AsyncInstance guest = AsyncInstance.builder(wasm)
                    .withEngine(engine)
                    .withAlreadyAsyncified(region)
                    .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> {
                        fetches.incrementAndGet();
                        return CompletableFuture.supplyAsync(() -> 100, CompletableFuture.delayedExecutor(1, TimeUnit.MILLISECONDS));
                    }))
                    .build()) {
                // deep(n) = n + (n-1) + ... + 1 + fetch() = n(n+1)/2 + 100
                assertThat(guest.call("deep", 20).get(10, TimeUnit.SECONDS)).containsExactly(20 * 21 / 2 + 100);
                assertThat(guest.call("deep", 3).get(10, TimeUnit.SECONDS)).containsExactly(106);
            }
        }
        assertThat(fetches).hasValue(4);
    }

    @Test
    void uncaughtWasmExceptionFailsTheCallWithItsTypedException() throws Exception {
        io.asyncify4j.wasm.model.ModuleModel m = new io.asyncify4j.wasm.model.ModuleModel();
        // (tag $e) (func (export "boom") (throw $e)) built directly: wabt's wat parser has no exception handling.
        int type = m.internFuncType(io.asyncify4j.wasm.model.FuncType.of(List.of(), List.of()));
        m.tags().add(new io.asyncify4j.wasm.model.Tag(type));
        m.functions().add(new io.asyncify4j.wasm.model.Function(type, List.of(),
                List.of(io.asyncify4j.wasm.ir.SimpleInstruction.of(io.asyncify4j.wasm.ir.Opcode.THROW, 0))));
        m.exports().add(new io.asyncify4j.wasm.model.Export("boom", io.asyncify4j.wasm.model.ExternalKind.FUNCTION, 0));
        try (AsyncInstance guest = AsyncInstance.builder(io.asyncify4j.wasm.codec.WasmCodec.encode(m)).build()) {
            assertThatThrownBy(() -> guest.call("boom").get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(GuestTrapException.class)
                    .hasRootCauseInstanceOf(WasmException.class);
        }
    }

    @Test
    void tooSmallAsyncifyStackLimitIsRejected() {
        assertThatThrownBy(() -> AsyncInstance.builderFromWat("(module)").withMaxAsyncifyStackBytes(8))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("too small");
    }
}
