package io.asyncify4j.samples;

import static java.util.concurrent.TimeUnit.MILLISECONDS;

import io.asyncify4j.host.AsyncImport;
import io.asyncify4j.host.AsyncInstance;
import java.io.PrintStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Two coroutines of one wasm instance, interleaved: each generator awaits an async "fetch" and yields
 * every fetched value to Java; neither holds a thread while it waits.
 */
public final class GeneratorSample implements Sample {
    @Override
    public String name() {
        return "generator";
    }

    @Override
    public String description() {
        return "a wasm generator plugin: two coroutines of one instance await an async fetch and yield to Java";
    }

    @Override
    public void run(PrintStream out) throws Exception {
        AsyncImport fetch = AsyncImport.ofIntToInt("host", "fetch", key ->
                // A slow backend: the value arrives later, on another thread.
                CompletableFuture.supplyAsync(() -> key * 2, CompletableFuture.delayedExecutor(20 + key % 7, MILLISECONDS)));
        AsyncImport yield = AsyncImport.of("host", "yield",
                run.endive.wasm.types.FunctionType.of(
                        java.util.List.of(run.endive.wasm.types.ValType.I32, run.endive.wasm.types.ValType.I32),
                        java.util.List.of()),
                args -> {
                    out.printf("coroutine %s yielded %d%n", (char) ('A' + args[0] - 1), args[1]);
                    return CompletableFuture.supplyAsync(() -> null, CompletableFuture.delayedExecutor(5, MILLISECONDS));
                });
        try (AsyncInstance plugin = AsyncInstance.builderFromWat(Samples.resource("generator.wat"))
                .withAsyncImport(fetch)
                .withAsyncImport(yield)
                .withInterleavedCalls() // coroutines: the second call starts while the first is suspended
                .build()) {
            CompletableFuture<long[]> a = plugin.call("generate", 1, 5);
            CompletableFuture<long[]> b = plugin.call("generate", 2, 5);
            out.printf("coroutine A finished, sum %d%n", a.get(30, TimeUnit.SECONDS)[0]);
            out.printf("coroutine B finished, sum %d%n", b.get(30, TimeUnit.SECONDS)[0]);
        }
    }
}
