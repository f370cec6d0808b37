package io.asyncify4j.asyncify;

import static io.asyncify4j.asyncify.Guest.args;
import static org.assertj.core.api.Assertions.assertThat;

import run.endive.runtime.ImportFunction;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.wasm.Parser;
import run.endive.wasm.WasmModule;
import io.asyncify4j.engine.SuspendPolicy;
import io.asyncify4j.engine.SuspensionDriver;
import io.asyncify4j.wasm.testutil.HostileModules;
import io.asyncify4j.wasm.testutil.Wat;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Split loops are copies made for speed, within a per-function budget; beyond it a loop keeps its
 * guarded form. That form must be complete on its own: these run code with the budget at 0 (no loop
 * split) under suspensions at every host call, at random ones, with chaos suspension points and with
 * fuel preemption, and compare with the plain run.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CopyBudgetTest {
    private static final String IMPORTS = """
              (import "env" "io" (func $io (param i32) (result i32)))
              (import "env" "tick" (func $tick))
              (memory 1)
            """;

    /** Nested loops with calls at every level, values on the stack across them, br_table and early exits. */
    private static final byte[] NESTED = Wat.wat("(module\n" + IMPORTS + """
              (func $body (param $n i32) (result i32) (local $i i32) (local $j i32) (local $acc i32)
                (block $done
                  (loop $outer
                    (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
                    (local.set $acc (i32.add (local.get $acc) (call $io (local.get $i))))
                    (local.set $j (i32.const 0))
                    (loop $inner
                      (i32.const 1000)
                      (local.set $acc (i32.xor (local.get $acc)
                        (i32.mul (call $io (i32.add (local.get $i) (local.get $j))) (i32.const 3))))
                      (block $skip
                        (block $c1
                          (block $c0
                            (br_table $c0 $c1 $skip (i32.rem_u (local.get $j) (i32.const 3))))
                          (call $tick)
                          (br $skip))
                        (local.set $acc (i32.sub (local.get $acc) (call $io (i32.const 7)))))
                      (local.set $acc (i32.add (local.get $acc)))
                      (local.set $j (i32.add (local.get $j) (i32.const 1)))
                      (br_if $inner (i32.lt_u (local.get $j) (local.get $i))))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $outer)))
                (local.get $acc))
              (func (export "run") (param $n i32) (result i32) (local $k i32) (local $sum i32)
                (loop $r
                  (local.set $sum (i32.add (local.get $sum) (call $body (local.get $n))))
                  (local.set $k (i32.add (local.get $k) (i32.const 1)))
                  (br_if $r (i32.lt_u (local.get $k) (i32.const 3))))
                (local.get $sum)))
            """);

    private static AsyncifyOptions.Builder guardedOnly() {
        return Guest.driverOptions().copyBudget(0);
    }

    @Test
    void withoutSplitLoopsTheGuardedFormResumesCorrectly() {
        byte[] split = Asyncify.transform(NESTED, Guest.driverOptions().build());
        byte[] guarded = Asyncify.transform(NESTED, guardedOnly().build());
        assertThat(guarded.length).as("no loop copies: smaller than the split form").isLessThan(split.length);
        Guest.assertSameAsPlain(NESTED, guardedOnly().build(), "run", args(0), args(1), args(4), args(7));
        Guest.assertSameAsPlain(NESTED, guardedOnly().suspendAtFunctionEntriesAndLoops(true).build(), "run",
                args(1), args(5));
    }

    @Test
    void aBudgetForSomeLoopsOnlySplitsTheOuterOnes() {
        // Enough for the outer loops (met first), not for every nested one: a mixed form.
        for (int budget : new int[] {10, 60, 120}) {
            Guest.assertSameAsPlain(NESTED, Guest.driverOptions().copyBudget(budget).build(), "run", args(3), args(6));
        }
    }

    @Test
    void meteredAndPreemptedAtEveryCheckWithoutSplitLoops() {
        for (int budget : new int[] {0, -1}) {
            byte[] transformed = Asyncify.transform(NESTED, guardedOnly().copyBudget(budget).fuel(true).build());
            for (long quantum : new long[] {1, 5, 97, 1L << 40}) {
                for (int n : new int[] {0, 3, 6}) {
                    long expected = Guest.plain(NESTED, "run", args(n)).get(0).i32();
                    assertThat(runMetered(transformed, quantum, n)).as("budget %d quantum %d n %d", budget, quantum, n)
                            .isEqualTo(expected);
                }
            }
        }
    }

    @Test
    void deeplyNestedLoopsBeyondTheBudgetRunAndResume() {
        // 1,000 nested loops: the budget splits the outer ones only; the inner ones resume guarded.
        byte[] wasm = HostileModules.nestedLoops(1_000);
        List<Guest.Run> plain = Guest.assertSameAsPlain(wasm, Guest.driverOptions().build(), "main", args());
        assertThat(plain.get(0).log()).hasSize(1);
        byte[] metered = Asyncify.transform(wasm, Guest.driverOptions().fuel(true).build());
        assertThat(runMetered(metered, 1, -1)).isEqualTo(0);
    }

    /** Runs run(n) (or main() for n &lt; 0) metered with {@code quantum}, suspending at every host call too. */
    private static long runMetered(byte[] transformed, long quantum, int n) {
        SuspensionDriver driver = new SuspensionDriver(SuspendPolicy.always());
        WasmModule module = Parser.parse(transformed);
        Guest.Host host = new Guest.Host();
        List<ImportFunction> functions = new ArrayList<>();
        for (ImportFunction f : host.functionsFor(module)) {
            functions.add(driver.suspending(f));
        }
        functions.add(driver.fuelExhausted());
        Instance instance = Instance.builder(module).withImportValues(ImportValues.builder().withFunctions(functions)
                .addGlobal(driver.stateImport()).addGlobal(driver.fuelImport(quantum)).build()).build();
        if (n < 0) {
            driver.call(instance.export("main"));
            return 0;
        }
        return driver.call(instance.export("run"), n)[0];
    }
}
