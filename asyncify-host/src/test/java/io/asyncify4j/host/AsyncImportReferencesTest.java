package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;

import io.asyncify4j.engine.References;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;

/** Async imports with externref parameters and results: in the handle view, as exports are. */
class AsyncImportReferencesTest {
    private static final String ECHO = """
            (module
              (import "env" "echo" (func $echo (param externref i32) (result externref i32)))
              (func (export "f") (param externref i32) (result externref i32)
                (call $echo (local.get 0) (local.get 1))))
            """;

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void referencesReachAnAsyncImportAndComeBackAfterTheSuspension(Engine engine) throws Exception {
        List<long[]> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<CompletableFuture<long[]>> pending = new java.util.concurrent.CopyOnWriteArrayList<>();
        AsyncImport echo = AsyncImport.of("env", "echo",
                FunctionType.of(List.of(ValType.ExternRef, ValType.I32), List.of(ValType.ExternRef, ValType.I32)),
                args -> {
                    seen.add(args.clone());
                    CompletableFuture<long[]> later = new CompletableFuture<>();
                    pending.add(later);
                    return later.thenApply(v -> new long[] {args[0] + 1, args[1] + 1});
                });
        try (AsyncInstance guest = AsyncInstance.builderFromWat(ECHO).withEngine(engine).withAsyncImport(echo).build()) {
            CompletableFuture<long[]> first = guest.call("f", 41, 7);
            // Completed only once the call is suspended, so the references cross a suspension every time.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (guest.suspendedCalls() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertThat(guest.suspendedCalls()).isEqualTo(1);
            pending.get(0).complete(new long[0]);
            assertThat(first.get(10, TimeUnit.SECONDS)).containsExactly(42, 8);
            assertThat(guest.metrics().suspensions()).isEqualTo(1);
            CompletableFuture<long[]> second = guest.call("f", References.NULL, 1);
            while (pending.size() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            pending.get(1).complete(new long[0]);
            assertThat(second.get(10, TimeUnit.SECONDS)).containsExactly(References.NULL + 1, 2);
        }
        assertThat(seen).hasSize(2);
        assertThat(seen.get(0)).containsExactly(41, 7);
        assertThat(seen.get(1)).containsExactly(References.NULL, 1);
    }
}
