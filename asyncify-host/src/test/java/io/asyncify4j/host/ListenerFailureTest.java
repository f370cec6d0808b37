package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;

/** A listener that throws when told of a suspension fails that call; the instance is not left counting it as suspended. */
class ListenerFailureTest {
    private static final String PING = """
            (module
              (import "env" "ping" (func $ping (result i32)))
              (func (export "run") (result i32) (i32.add (i32.const 1) (call $ping))))
            """;

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void aThrowingListenerFailsTheCallAndLeavesNoSuspendedCall(Engine engine) throws Exception {
        AtomicBoolean failNext = new AtomicBoolean(true);
        try (AsyncInstance g = AsyncInstance.builderFromWat(PING)
                .withEngine(engine)
                .withAsyncImport(new AsyncImport("env", "ping", FunctionType.of(List.of(), List.of(ValType.I32)),
                        // the first call's future never completes, so that call suspends however
                        // loaded the machine is; the later call may complete at once
                        (inst, args) -> failNext.get() ? new CompletableFuture<long[]>()
                                : CompletableFuture.completedFuture(new long[] {41})))
                .withListener(new SuspensionListener() {
                    @Override
                    public void suspended(String export, String asyncImport) {
                        if (failNext.getAndSet(false)) {
                            throw new IllegalStateException("listener failed");
                        }
                    }
                })
                .build()) {
            assertThatThrownBy(() -> g.call("run").get(30, TimeUnit.SECONDS))
                    .hasRootCauseInstanceOf(IllegalStateException.class).hasRootCauseMessage("listener failed");
            assertThat(g.suspendedCalls()).isZero();
            assertThat(g.suspendedStackBytes()).isZero();
            assertThat(g.call("run").get(30, TimeUnit.SECONDS)).containsExactly(42);
            assertThat(g.suspendedCalls()).isZero();
        }
    }
}
