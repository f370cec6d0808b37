package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import run.endive.wasi.WasiOptions;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Ordinary clang-built C plugins (plugins/plugin.c: a shadow stack behind {@code __stack_pointer}) used as
 * a host would: several calls in flight on one instance, each suspending three times in an async import.
 * They used to corrupt each other's stack frames silently; by default calls now run one at a time, and
 * interleaving is refused for these modules, detected from their code whatever their names say.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CPluginTest {
    static byte[] plugin(String name) throws IOException {
        try (InputStream in = CPluginTest.class.getResourceAsStream("/plugins/" + name + ".wasm")) {
            assertThat(in).as(name).isNotNull();
            return in.readAllBytes();
        }
    }

    /** fetch(key) = 2 * key, after a few milliseconds: every call suspends at each of its three fetches. */
    private static AsyncInstance.Builder builder(String variant, ByteArrayOutputStream stdout) throws IOException {
        return AsyncInstance.builder(plugin(variant))
                .withWasi(WasiOptions.builder().withStdout(stdout).build())
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", key -> CompletableFuture.supplyAsync(
                        () -> key * 2, CompletableFuture.delayedExecutor(5, TimeUnit.MILLISECONDS))));
    }

    @ParameterizedTest
    @ValueSource(strings = {"plugin-O0", "plugin-O0-stripped", "plugin-O0-export", "plugin-O0-export-stripped",
        "plugin-O2", "plugin-O2-stripped", "plugin-O2-export", "plugin-O2-export-stripped"})
    void concurrentCallsOnOneInstanceGiveTheRightSum(String variant) throws Exception {
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        try (AsyncInstance guest = builder(variant, stdout).build()) {
            List<CompletableFuture<long[]>> calls = new ArrayList<>();
            for (int id = 0; id < 3; id++) {
                calls.add(guest.call("handle", id));
            }
            long sum = 0;
            for (int id = 0; id < 3; id++) {
                long r = calls.get(id).get(60, TimeUnit.SECONDS)[0];
                assertThat(r).as("handle(%d) = 2 * (30 * id + 3)", id).isEqualTo(60L * id + 6);
                sum += r;
            }
            assertThat(sum).isEqualTo(198);
            assertThat(stdout.toString()).contains("handle(2): fetch(22) = 44");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"plugin-O0", "plugin-O0-stripped", "plugin-O2", "plugin-O2-stripped",
        "plugin-O2-export-stripped"})
    void interleavingIsRefusedForAModuleWithAShadowStack(String variant) {
        assertThatThrownBy(() -> builder(variant, new ByteArrayOutputStream()).withInterleavedCalls().build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("shadow stack");
    }

    @ParameterizedTest
    @ValueSource(strings = {"plugin-O0-stripped", "plugin-O2-stripped"})
    void anAbandonedSuspendedCallGivesItsShadowStackBack(String variant) throws Exception {
        java.util.concurrent.ConcurrentLinkedQueue<CompletableFuture<Integer>> stuck = new java.util.concurrent.ConcurrentLinkedQueue<>();
        try (AsyncInstance guest = AsyncInstance.builder(plugin(variant))
                .withWasi(WasiOptions.builder().withStdout(new ByteArrayOutputStream()).build())
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", key -> {
                    if (key == 91) { // handle(9)'s second fetch never completes: it stays suspended, frame live
                        CompletableFuture<Integer> f = new CompletableFuture<>();
                        stuck.add(f);
                        return f;
                    }
                    return CompletableFuture.supplyAsync(() -> key * 2, CompletableFuture.delayedExecutor(1, TimeUnit.MILLISECONDS));
                }))
                .build()) {
            long before = guest.stackPointer().getValue();
            for (int round = 0; round < 3; round++) {
                CompletableFuture<long[]> call = guest.call("handle", 9);
                AsyncInstanceTest.waitFor(() -> !stuck.isEmpty() && guest.suspendedCalls() == 1);
                assertThat(guest.stackPointer().getValue()).as("the suspended call's frame is live").isLessThan(before);
                call.cancel(true);
                assertThat(stuck.poll()).isCancelled();
                // The stack pointer goes back to where it was when the call started (waits up to 10 s).
                AsyncInstanceTest.waitFor(() -> guest.suspendedCalls() == 0 && guest.stackPointer().getValue() == before);
            }
            assertThat(guest.call("handle", 1).get(30, TimeUnit.SECONDS)).containsExactly(66);
        }
    }
}
