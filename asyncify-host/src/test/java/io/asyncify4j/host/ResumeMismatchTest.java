package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A call suspended inside a call_indirect whose table slot is replaced before it resumes. */
class ResumeMismatchTest {
    private static final String GUEST = """
            (module
              (import "env" "fetch" (func $fetch (param i32) (result i32)))
              (import "env" "note" (func $note (param i32)))
              (type $t (func (param i32) (result i32)))
              (table 1 funcref)
              (elem (i32.const 0) $f)
              (elem declare func $g)
              (global $effects (export "effects") (mut i32) (i32.const 0))
              (func $f (param $x i32) (result i32) (i32.add (call $fetch (local.get $x)) (i32.const 1)))
              (func $g (param $x i32) (result i32)
                (global.set $effects (i32.add (global.get $effects) (i32.const 1)))
                (call $note (local.get $x))
                (i32.add (call $fetch (local.get $x)) (i32.const 2)))
              (func (export "run") (param $x i32) (result i32)
                (i32.mul (call_indirect (type $t) (local.get $x) (i32.const 0)) (i32.const 10)))
              (func (export "swap") (table.set 0 (i32.const 0) (ref.func $g))))
            """;

    private final List<CompletableFuture<Integer>> fetches = new CopyOnWriteArrayList<>();
    private final List<Long> notes = new CopyOnWriteArrayList<>();

    private AsyncInstance guest() {
        return AsyncInstance.builderFromWat(GUEST)
                .withInterleavedCalls() // "swap" runs while "run" is suspended
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> {
                    CompletableFuture<Integer> f = new CompletableFuture<>();
                    fetches.add(f);
                    return f;
                }))
                .withHostFunction(new run.endive.runtime.HostFunction("env", "note",
                        run.endive.wasm.types.FunctionType.of(
                                List.of(run.endive.wasm.types.ValType.I32), List.of()),
                        (inst, args) -> {
                            notes.add(args[0]);
                            return null;
                        }))
                .build();
    }

    @Test
    void resumingIntoAnotherFunctionFailsWithATypedErrorBeforeItRuns() throws Exception {
        try (AsyncInstance guest = guest()) {
            CompletableFuture<long[]> run = guest.call("run", 4);
            waitFor(() -> guest.suspendedCalls() == 1);
            guest.call("swap").get(10, TimeUnit.SECONDS); // another call on the same instance
            fetches.get(0).complete(100);
            assertThatThrownBy(() -> run.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(ResumeMismatchException.class)
                    .extracting(e -> ((ResumeMismatchException) e.getCause()).function())
                    .isEqualTo("func[3]"); // $g (after the two imports and $f): it refused the frame
            assertThat(guest.instance().exports().global("effects").getValue()).as("$g never ran").isZero();
            assertThat(notes).isEmpty();
            assertThat(fetches).hasSize(1);
        }
    }

    @Test
    void theInstanceStaysUsableAndAnUnchangedSlotResumesNormally() throws Exception {
        try (AsyncInstance guest = guest()) {
            CompletableFuture<long[]> run = guest.call("run", 4);
            waitFor(() -> guest.suspendedCalls() == 1);
            fetches.get(0).complete(100);
            assertThat(run.get(10, TimeUnit.SECONDS)).containsExactly(1010);

            CompletableFuture<long[]> again = guest.call("run", 5);
            waitFor(() -> guest.suspendedCalls() == 1);
            guest.call("swap").get(10, TimeUnit.SECONDS);
            fetches.get(1).complete(7);
            assertThatThrownBy(() -> again.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(ResumeMismatchException.class);
            // A new call goes through the new slot, to $g, and suspends and resumes as usual.
            CompletableFuture<long[]> viaG = guest.call("run", 6);
            waitFor(() -> fetches.size() == 3);
            fetches.get(2).complete(50);
            assertThat(viaG.get(10, TimeUnit.SECONDS)).containsExactly(520);
            assertThat(notes).containsExactly(6L);
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for the guest");
            }
            Thread.sleep(5);
        }
    }
}
