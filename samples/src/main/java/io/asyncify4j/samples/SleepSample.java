package io.asyncify4j.samples;

import static java.util.concurrent.TimeUnit.MILLISECONDS;

import run.endive.runtime.HostFunction;
import run.endive.wasm.types.FunctionType;
import io.asyncify4j.host.AsyncImport;
import io.asyncify4j.host.AsyncInstance;
import io.asyncify4j.host.SuspensionListener;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The Asyncify blog post's JavaScript example on the JVM: the guest sleeps two seconds through an async
 * import; while it is suspended (no thread held) the host handles an event; then the guest resumes.
 */
public final class SleepSample implements Sample {
    @Override
    public String name() {
        return "sleep";
    }

    @Override
    public String description() {
        return "the Asyncify blog's JavaScript example: a guest sleeps 2 s while the host handles an event";
    }

    @Override
    public void run(PrintStream out) throws Exception {
        HostFunction before = new HostFunction("env", "before", FunctionType.of(List.of(), List.of()), (inst, args) -> {
            out.println("before!");
            CompletableFuture.delayedExecutor(1000, MILLISECONDS)
                    .execute(() -> out.println("(an event that happens during the sleep)"));
            return null;
        });
        HostFunction after = new HostFunction("env", "after", FunctionType.of(List.of(), List.of()), (inst, args) -> {
            out.println("after!");
            return null;
        });
        AsyncImport sleep = AsyncImport.ofIntToVoid("env", "sleep", ms -> {
            out.println("sleep...");
            return CompletableFuture.runAsync(() -> { }, CompletableFuture.delayedExecutor(ms, MILLISECONDS));
        });
        try (AsyncInstance guest = AsyncInstance.builderFromWat(Samples.resource("sleep.wat"))
                .withHostFunction(before)
                .withHostFunction(after)
                .withAsyncImport(sleep)
                .withListener(new SuspensionListener() {
                    @Override
                    public void suspended(String export, String asyncImport) {
                        out.println("stack unwound");
                    }

                    @Override
                    public void resuming(String export) {
                        out.println("timeout ended, starting to rewind the stack");
                    }

                    @Override
                    public void resumed(String export, String asyncImport) {
                        out.println("...resume");
                    }
                })
                .build()) {
            guest.call("main").get(30, TimeUnit.SECONDS);
        }
    }
}
