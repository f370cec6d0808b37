package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;

import io.asyncify4j.asyncify.AsyncifyAbi;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** An instance costs little until it suspends: its asyncify data memory starts empty and grows at the first suspension. */
class InstanceFootprintTest {

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void theDataMemoryIsAllocatedAtTheFirstSuspension(Engine engine) throws Exception {
        String wat = """
                (module
                  (import "env" "fetch" (func $fetch (param i32) (result i32)))
                  (func (export "plain") (result i32) (i32.const 5))
                  (func (export "f") (param i32) (result i32) (i32.add (local.get 0) (call $fetch (local.get 0)))))
                """;
        try (AsyncInstance guest = AsyncInstance.builderFromWat(wat)
                .withEngine(engine)
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> CompletableFuture.supplyAsync(() -> 10 * x,
                        CompletableFuture.delayedExecutor(5, TimeUnit.MILLISECONDS))))
                .build()) {
            var data = guest.instance().exports().memory(AsyncifyAbi.DATA_MEMORY_EXPORT);
            assertThat(data.pages()).isZero();
            assertThat(guest.callBlocking("plain")).containsExactly(5);
            assertThat(data.pages()).isZero();
            assertThat(guest.callBlocking("f", 3)).containsExactly(33);
            assertThat(guest.metrics().suspensions()).isEqualTo(1);
            assertThat(data.pages()).isEqualTo(1);
            assertThat(guest.callBlocking("f", 4)).containsExactly(44);
        }
    }
}
