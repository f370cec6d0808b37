package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** WASI reactors (export {@code _initialize}, no {@code _start}) are initialised once, at build. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ReactorTest {
    private static final String REACTOR = """
            (module
              (import "env" "fetch" (func $fetch (param i32) (result i32)))
              (global $g (mut i32) (i32.const 0))
              (func (export "_initialize") (global.set $g (call $fetch (i32.const 21))))
              (func (export "get") (result i32) (global.get $g)))
            """;

    @Test
    void aReactorIsInitialisedOnceAtBuildEvenWhenItSuspends() throws Exception {
        AtomicInteger fetches = new AtomicInteger();
        try (AsyncInstance guest = AsyncInstance.builderFromWat(REACTOR)
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> {
                    fetches.incrementAndGet();
                    return CompletableFuture.supplyAsync(() -> 2 * x,
                            CompletableFuture.delayedExecutor(20, TimeUnit.MILLISECONDS));
                }))
                .build()) {
            assertThat(fetches).hasValue(1);
            assertThat(guest.metrics().suspensions()).isEqualTo(1);
            assertThat(guest.callBlocking("get")).containsExactly(42);
            assertThat(guest.callBlocking("get")).containsExactly(42);
            assertThat(fetches).hasValue(1);
            assertThat(guest.call("_initialize")).failsWithin(10, TimeUnit.SECONDS)
                    .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                    .withCauseInstanceOf(IllegalArgumentException.class).withMessageContaining("initialised once");
        }
    }

    @Test
    void aCommandIsNotInitialised() throws Exception {
        String wat = """
                (module
                  (global $g (mut i32) (i32.const 0))
                  (func (export "_initialize") (global.set $g (i32.const 7)))
                  (func (export "_start"))
                  (func (export "get") (result i32) (global.get $g)))
                """;
        try (AsyncInstance guest = AsyncInstance.builderFromWat(wat).build()) {
            assertThat(guest.callBlocking("get")).containsExactly(0);
        }
    }

    @Test
    void aReactorThatNeverFinishesInitialisingIsStopped() {
        String wat = "(module (func (export \"_initialize\") (loop (br 0))))";
        assertThatThrownBy(() -> AsyncInstance.builderFromWat(wat).withFuelBudget(1_000_000).build())
                .isInstanceOf(FuelExhaustedException.class);
        assertThatThrownBy(() -> AsyncInstance.builderFromWat("(module (func (export \"_initialize\") unreachable))").build())
                .isInstanceOf(GuestTrapException.class);
    }
}
