package io.asyncify4j.host;

import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.IntFunction;
import java.util.function.LongFunction;
import java.util.function.Supplier;

/**
 * An import whose implementation completes asynchronously. Declaring an import async is what makes
 * the transform instrument the guest code that can reach it: no import list is written by hand.
 * Arguments and results are {@code long} slots (v128 taking two); externref parameters and results are
 * host handles, as for {@link AsyncInstance#call} ({@link io.asyncify4j.engine.References}): a handle
 * the host returns reaches the guest as an externref and comes back to the host as the same number.
 *
 * @param module import module name
 * @param name import field name
 * @param type the import's wasm signature
 * @param function the implementation
 */
public record AsyncImport(String module, String name, FunctionType type, AsyncHostFunction function) {
    public AsyncImport {
        Objects.requireNonNull(module, "module");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(function, "function");
    }

    /** {@code () -> ()}. */
    public static AsyncImport ofVoid(String module, String name, Supplier<? extends CompletionStage<?>> f) {
        return new AsyncImport(module, name, FunctionType.of(List.of(), List.of()),
                (inst, args) -> mapped(f.get(), v -> null));
    }

    /** {@code (i32) -> ()}. */
    public static AsyncImport ofIntToVoid(String module, String name, IntFunction<? extends CompletionStage<?>> f) {
        return new AsyncImport(module, name, FunctionType.of(List.of(ValType.I32), List.of()),
                (inst, args) -> mapped(f.apply((int) args[0]), v -> null));
    }

    /** {@code (i32) -> i32}. */
    public static AsyncImport ofIntToInt(String module, String name,
                                         IntFunction<? extends CompletionStage<Integer>> f) {
        return new AsyncImport(module, name, FunctionType.of(List.of(ValType.I32), List.of(ValType.I32)),
                (inst, args) -> mapped(f.apply((int) args[0]), v -> new long[] {v}));
    }

    /** {@code () -> i32}. */
    public static AsyncImport ofInt(String module, String name, Supplier<? extends CompletionStage<Integer>> f) {
        return new AsyncImport(module, name, FunctionType.of(List.of(), List.of(ValType.I32)),
                (inst, args) -> mapped(f.get(), v -> new long[] {v}));
    }

    /** {@code (i64) -> i64}. */
    public static AsyncImport ofLongToLong(String module, String name,
                                           LongFunction<? extends CompletionStage<Long>> f) {
        return new AsyncImport(module, name, FunctionType.of(List.of(ValType.I64), List.of(ValType.I64)),
                (inst, args) -> mapped(f.apply(args[0]), v -> new long[] {v}));
    }

    /** Any signature, with the raw argument slots. */
    public static AsyncImport of(String module, String name, FunctionType type,
                                 Function<long[], ? extends CompletionStage<long[]>> f) {
        return new AsyncImport(module, name, type, (inst, args) -> mapped(f.apply(args), v -> v));
    }

    /**
     * The host's stage with its value converted; cancelling the result (the guest's call was cancelled,
     * timed out or closed) cancels the host's own future too, so the host operation is released.
     */
    static <T> CompletableFuture<long[]> mapped(CompletionStage<T> source, Function<? super T, long[]> convert) {
        CompletableFuture<long[]> out = source.thenApply(convert).toCompletableFuture();
        out.whenComplete((v, e) -> {
            if (out.isCancelled() && source instanceof java.util.concurrent.Future<?> f) {
                f.cancel(true);
            }
        });
        return out;
    }
}
