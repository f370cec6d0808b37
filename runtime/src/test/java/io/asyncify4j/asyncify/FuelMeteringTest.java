package io.asyncify4j.asyncify;

import static org.assertj.core.api.Assertions.assertThat;

import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import com.dylibso.chicory.wabt.Wat2Wasm;
import run.endive.wasm.Parser;
import io.asyncify4j.engine.SuspendPolicy;
import io.asyncify4j.engine.SuspensionDriver;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.ModuleModel;
import org.junit.jupiter.api.Test;

/** Fuel metering: where checks go and what they charge. */
class FuelMeteringTest {

    private static String module(int leafInstructions) {
        StringBuilder leaf = new StringBuilder("(local.get 0)");
        for (int i = 1; i < leafInstructions; i += 2) {
            leaf.append(" (i32.const 1) (i32.add)");
        }
        return "(module"
                + " (func $leaf (param i32) (result i32) " + leaf + ")"
                + " (func (export \"run\") (param $n i32) (result i32) (local $acc i32)"
                + "   (loop $l"
                + "     (local.set $acc (call $leaf (local.get $acc)))"
                + "     (local.set $n (i32.sub (local.get $n) (i32.const 1)))"
                + "     (br_if $l (local.get $n)))"
                + "   (local.get $acc)))";
    }

    private static AsyncifyOptions metered() {
        return AsyncifyOptions.builder().dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY)
                .importState(true).fuel(true).build();
    }

    /** Fuel used by run(n) with a quantum large enough never to run out. */
    private static long fuelUsed(String wat, int n) {
        byte[] wasm = Asyncify.transform(Wat2Wasm.parse(wat), metered());
        SuspensionDriver driver = new SuspensionDriver(SuspendPolicy.never());
        long quantum = 1L << 40;
        var fuel = driver.fuelImport(quantum);
        Instance instance = Instance.builder(Parser.parse(wasm)).withImportValues(ImportValues.builder()
                .addFunction(driver.fuelExhausted()).addGlobal(driver.stateImport()).addGlobal(fuel)
                .build()).build();
        driver.call(instance.export("run"), n);
        return quantum - fuel.instance().getValue();
    }

    @Test
    void leafFunctionsAreNotInstrumentedAndTheirCostIsChargedToTheCaller() {
        ModuleModel m = WasmCodec.decode(Wat2Wasm.parse(module(51)));
        AsyncifyReport report = Asyncify.transform(m, metered());
        assertThat(report.instrumented()).extracting(AsyncifyReport.InstrumentedFunction::index)
                .doesNotContain(m.importedFunctionCount()); // $leaf (the fuel import came first)

        // The loop is unrolled (a body of 8 instructions): its check charges a round of iterations at
        // once, so count whole rounds.
        int n = 10 * FuelMetering.unrollFactor(8);
        long perIterationSmallLeaf = (fuelUsed(module(1), 2 * n) - fuelUsed(module(1), n)) / n;
        long perIterationBigLeaf = (fuelUsed(module(51), 2 * n) - fuelUsed(module(51), n)) / n;
        assertThat(perIterationBigLeaf - perIterationSmallLeaf).isEqualTo(50);
    }

    /** A loop leaving from the middle of its body (at i == 11) or at its condition (i == n). */
    private static final String EARLY_EXIT = "(module (func (export \"run\") (param $n i32) (result i32)"
            + " (local $i i32) (local $acc i32)"
            + " (block $out (loop $l"
            + "   (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $i)))"
            + "   (br_if $out (i32.eq (local.get $i) (i32.const 11)))"
            + "   (local.set $i (i32.add (local.get $i) (i32.const 1)))"
            + "   (br_if $l (i32.lt_s (local.get $i) (local.get $n)))))"
            + " (local.get $acc)))";

    @Test
    void unrolledLoopsExitWhereTheOriginalDoesEvenWhenPreemptedAtEveryCheck() {
        for (long quantum : new long[] {1, 5, 1000}) {
            // Every exit position in a round (a body of 17 instructions), both exits.
            for (int n = 0; n <= 2 * FuelMetering.unrollFactor(17) + 1; n++) {
                long preemptions = runExactlyAsOriginal(EARLY_EXIT, n, quantum);
                if (quantum == 1) {
                    assertThat(preemptions).as("n=%d", n).isPositive();
                }
            }
        }
    }

    /**
     * Runs run(n) of {@code wat} metered, suspending at every exhaustion, and checks its result against
     * the original module's; returns the preemptions.
     */
    private static long runExactlyAsOriginal(String wat, int n, long quantum) {
        return runExactlyAsOriginal(wat, n, quantum, metered());
    }

    private static long runExactlyAsOriginal(String wat, int n, long quantum, AsyncifyOptions options) {
        byte[] original = Guest.named(wat); // the remove list names functions
        byte[] wasm = Asyncify.transform(original, options);
        long expected = Instance.builder(Parser.parse(original)).build().export("run").apply(n)[0];
        SuspensionDriver driver = new SuspensionDriver(SuspendPolicy.always());
        var fuel = driver.fuelImport(quantum);
        Instance instance = Instance.builder(Parser.parse(wasm)).withImportValues(ImportValues.builder()
                .addFunction(driver.fuelExhausted()).addGlobal(driver.stateImport()).addGlobal(fuel)
                .build()).build();
        assertThat(driver.call(instance.export("run"), n)[0]).as("n=%d quantum=%d", n, quantum).isEqualTo(expected);
        return driver.preemptions();
    }

    /** An outer loop around a short inner loop (i % 3 iterations), both unrollable. */
    private static final String NESTED = "(module (func (export \"run\") (param $n i32) (result i32)"
            + " (local $i i32) (local $j i32) (local $acc i32)"
            + " (loop $outer"
            + "   (local.set $j (i32.const 0))"
            + "   (block $done (loop $inner"
            + "     (br_if $done (i32.ge_u (local.get $j) (i32.rem_u (local.get $i) (i32.const 3))))"
            + "     (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 7)) (local.get $j)))"
            + "     (local.set $j (i32.add (local.get $j) (i32.const 1)))"
            + "     (br_if $inner (i32.const 1))))"
            + "   (local.set $i (i32.add (local.get $i) (i32.const 1)))"
            + "   (br_if $outer (i32.lt_u (local.get $i) (local.get $n))))"
            + " (local.get $acc)))";

    @Test
    void aLoopAroundAnUnrolledLoopIsUnrolledTooAndStillExact() {
        for (int n : new int[] {1, 2, 5, 17, 100}) {
            for (long quantum : new long[] {1, 3, 1000}) {
                long preemptions = runExactlyAsOriginal(NESTED, n, quantum);
                if (quantum == 1 && n == 100) {
                    // Every check runs out of fuel: one preemption per check. The inner loop never
                    // leaves its first round; the outer one checks once per round, not per iteration.
                    assertThat(preemptions).isPositive().isLessThanOrEqualTo(n / 2);
                }
            }
        }
    }

    @Test
    void aLoopEndingAnIfArmLeavesThroughTheIfLabel() {
        // Unrolled without a block of its own: its exits branch to the end of the if.
        String wat = "(module (func (export \"run\") (param $n i32) (result i32) (local $i i32) (local $acc i32)"
                + " (if (local.get $n) (then (loop $l"
                + "   (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $i) (local.get $i))))"
                + "   (local.set $i (i32.add (local.get $i) (i32.const 1)))"
                + "   (br_if $l (i32.lt_u (local.get $i) (local.get $n))))))"
                + " (i32.add (local.get $acc) (local.get $i))))";
        for (int n = 0; n <= 20; n++) {
            for (long quantum : new long[] {1, 7, 1000}) {
                runExactlyAsOriginal(wat, n, quantum);
            }
        }
    }

    @Test
    void aGuestWithFuelLeftIsNeverPreempted() {
        // Regression: an unrolled loop whose body uses the result of an instrumented call before its
        // back-edge check got that check as an unconditional call of fuel_exhausted.
        String wat = "(module"
                + " (func $count (param $k i32) (result i32) (local $j i32)"
                + "   (loop $c (local.set $j (i32.add (local.get $j) (i32.const 1)))"
                + "     (br_if $c (i32.lt_s (local.get $j) (local.get $k))))"
                + "   (local.get $j))"
                + " (func (export \"run\") (param $n i32) (result i32) (local $acc i32)"
                + "   (loop $l"
                + "     (local.set $acc (i32.add (local.get $acc) (call $count (local.get $n))))"
                + "     (local.set $n (i32.sub (local.get $n) (i32.const 1)))"
                + "     (br_if $l (local.get $n)))"
                + "   (local.get $acc)))";
        byte[] wasm = Asyncify.transform(Wat2Wasm.parse(wat), metered());
        SuspensionDriver driver = new SuspensionDriver(SuspendPolicy.always());
        var fuel = driver.fuelImport(1L << 40);
        Instance instance = Instance.builder(Parser.parse(wasm)).withImportValues(ImportValues.builder()
                .addFunction(driver.fuelExhausted()).addGlobal(driver.stateImport()).addGlobal(fuel)
                .build()).build();
        assertThat(driver.call(instance.export("run"), 10)[0]).isEqualTo(55);
        assertThat(driver.preemptions()).isZero();
    }

    @Test
    void aLoopWithParamsIsChargedOncePerIteration() {
        // Its check takes the general form (the params are pending on the stack): charged once all the same.
        String wat = "(module (func (export \"run\") (param $n i32) (result i32)"
                + " (i32.const 0)"
                + " (loop $l (param i32) (result i32)"
                + "   (i32.add (i32.const 1))"
                + "   (local.set $n (i32.sub (local.get $n) (i32.const 1)))"
                + "   (br_if $l (local.get $n)))))";
        // 8 instructions in the body, plus 1: what every check charges for its own run.
        assertThat((fuelUsed(wat, 20) - fuelUsed(wat, 10)) / 10).isEqualTo(9);
    }

    @Test
    void anIfIsChargedItsDearerArm() {
        String wat = "(module (func (export \"run\") (param $n i32)"
                + " (loop $l"
                + "   (if (local.get $n) (then (nop) (nop) (nop)) (else (nop)))"
                + "   (local.set $n (i32.sub (local.get $n) (i32.const 1)))"
                + "   (br_if $l (local.get $n)))))";
        int factor = FuelMetering.unrollFactor(11); // a body of 11 instructions, arms included
        int rounds = 10;
        int n = rounds * factor;
        long perRound = (fuelUsed(wat, 2 * n) - fuelUsed(wat, n)) / rounds;
        // Per copy: local.get, if (+3 for its then-arm, not +4 for both), the decrement (4), the
        // condition and the if holding the next copy (2: a bare local.get cannot be negated for free,
        // so the copies nest in ifs); then the check and the back branch (2), +1.
        assertThat(perRound).isEqualTo(factor * (1 + 1 + 3 + 4 + 2) + 3);
    }

    @Test
    void smallLoopsAreChargedOncePerUnrolledRound() {
        // The first round is charged before the loop, later ones by the back-edge check: 1..factor
        // iterations cost alike, one more costs a round more.
        int factor = FuelMetering.unrollFactor(17);
        assertThat(factor).isGreaterThan(1).isLessThan(11); // the early exit (i == 11) lies in the second round
        long one = fuelUsed(EARLY_EXIT, 1);
        assertThat(fuelUsed(EARLY_EXIT, factor)).isEqualTo(one);
        assertThat(fuelUsed(EARLY_EXIT, factor + 1)).isGreaterThan(one);
    }

    @Test
    void functionsOutsideCallCyclesAreChargedAtTheirCallSites() {
        // $mid calls a leaf and is neither recursive, exported nor address-taken: no entry check, so
        // not instrumented; the loop pays for it. $rec calls itself: it keeps its entry check.
        String wat = "(module"
                + " (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))"
                + " (func $mid (param i32) (result i32) (call $leaf (call $leaf (local.get 0))))"
                + " (func $rec (param i32) (result i32)"
                + "   (if (result i32) (local.get 0) (then (call $rec (i32.sub (local.get 0) (i32.const 1))))"
                + "     (else (i32.const 0))))"
                + " (func (export \"run\") (param $n i32) (result i32) (local $acc i32)"
                + "   (loop $l"
                + "     (local.set $acc (call $mid (local.get $acc)))"
                + "     (local.set $n (i32.sub (local.get $n) (i32.const 1)))"
                + "     (br_if $l (local.get $n)))"
                + "   (i32.add (local.get $acc) (call $rec (i32.const 3)))))";
        ModuleModel m = WasmCodec.decode(Wat2Wasm.parse(wat));
        AsyncifyReport report = Asyncify.transform(m, metered());
        int first = m.importedFunctionCount(); // the fuel import came first
        assertThat(report.instrumented()).extracting(AsyncifyReport.InstrumentedFunction::index)
                .doesNotContain(first, first + 1).contains(first + 2);
        // The loop (a body of 8 instructions) is unrolled; per round its back-edge check charges, for
        // each copy, the body (8), the if holding the next copy (1: the condition is a bare local.get),
        // $mid (3, +1) and two runs of $leaf (3, +1 each); then the check and the back branch (2), +1.
        int factor = FuelMetering.unrollFactor(8);
        int rounds = 10;
        int n = rounds * factor;
        long perRound = (fuelUsed(wat, 2 * n) - fuelUsed(wat, n)) / rounds;
        assertThat(perRound).isEqualTo(factor * (8 + 1 + 4 + 2 * 4) + 3);
    }

    @Test
    void codeABranchSkipsIsChargedOnlyWhenItRuns() {
        // 300 instructions after a br_if that may skip them: charged where they start, not up front.
        StringBuilder big = new StringBuilder();
        for (int i = 0; i < 150; i++) {
            big.append(" (i32.const 1) (drop)");
        }
        String wat = "(module (func (export \"run\") (param $n i32) (result i32)"
                + " (block $skip (br_if $skip (i32.eqz (local.get $n)))" + big + ")"
                + " (loop $once (br_if $once (i32.const 0)))" // not a leaf: its entry is checked
                + " (local.get $n)))";
        long skipped = fuelUsed(wat, 0);
        long ran = fuelUsed(wat, 1);
        assertThat(skipped).isLessThan(50); // the entry and the loop
        assertThat(ran).isBetween(300L + skipped, 320L + skipped); // never below the instructions run
    }

    /**
     * A loop whose condition is a bare value (a counter), so its unrolled copies nest in ifs, with an
     * exit from the middle of its body (at i == 11) that must reach past those ifs; {@code TAIL} is
     * code after the loop inside its block (empty: the loop ends the block and leaves through its label).
     */
    private static String counterLoop(String tail) {
        return "(module (func $run (export \"run\") (param $n i32) (result i32)"
                + " (local $i i32) (local $acc i32)"
                + " (block $out (loop $l"
                + "   (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $i)))"
                + "   (br_if $out (i32.eq (local.get $i) (i32.const 11)))"
                + "   (local.set $i (i32.add (local.get $i) (i32.const 1)))"
                + "   (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))"
                + tail + ")"
                + " (i32.add (local.get $acc) (local.get $i))))";
    }

    @Test
    void loopsWithABareConditionNestTheirCopiesAndExitWhereTheOriginalDoes() {
        String throughEnclosing = counterLoop("");
        String ownExit = counterLoop(" (local.set $acc (i32.xor (local.get $acc) (i32.const 5)))");
        for (String wat : new String[] {throughEnclosing, ownExit}) {
            // n == 0 wraps the counter: the loop leaves at i == 11, through the copies' labels.
            for (int n = 0; n <= 2 * FuelMetering.unrollFactor(17) + 1; n++) {
                for (long quantum : new long[] {1, 5, 1000}) {
                    long preemptions = runExactlyAsOriginal(wat, n, quantum, metered());
                    if (quantum == 1) {
                        assertThat(preemptions).as("n=%d", n).isPositive();
                    }
                }
                // Not instrumented: its checks take their plain form, which cannot unwind.
                runExactlyAsOriginal(wat, n, 1000, notInstrumented());
            }
        }
        // No i32.eqz negating the condition: it goes straight into the if holding the next copy (the
        // function is left uninstrumented so that no asyncify guard adds one either).
        byte[] wasm = Asyncify.transform(Guest.named(ownExit), notInstrumented());
        assertThat(countOpcode(wasm, run.endive.wasm.types.OpCode.I32_EQZ, "run")).isZero();
        assertThat(countOpcode(wasm, run.endive.wasm.types.OpCode.IF, "run"))
                .isEqualTo(FuelMetering.unrollFactor(17) + 1); // and the entry check's (exported)
    }

    /** An exported run that is not instrumented: its checks are expanded in their plain form. */
    private static AsyncifyOptions notInstrumented() {
        return AsyncifyOptions.builder().dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY)
                .importState(true).fuel(true).removeList(java.util.List.of("run")).build();
    }

    /** Occurrences of {@code op} in the body of the function named {@code name}. */
    private static long countOpcode(byte[] wasm, run.endive.wasm.types.OpCode op, String name) {
        run.endive.wasm.WasmModule module = Parser.parse(wasm);
        int imported = module.importSection().count(run.endive.wasm.types.ExternalType.FUNCTION);
        for (int f = 0; f < module.codeSection().functionBodyCount(); f++) {
            if (name.equals(module.nameSection().nameOfFunction(imported + f))) {
                return module.codeSection().getFunctionBody(f).instructions().stream()
                        .filter(in -> in.opcode() == op).count();
            }
        }
        throw new AssertionError("no function " + name);
    }

    /** Thrown by the exhausted import of {@link #stoppedAfter}: the budget is spent. */
    private static final class Stopped extends RuntimeException {
        Stopped() {
            super("out of fuel", null, false, false);
        }
    }

    /**
     * Runs run(0) of {@code wat} with {@code fuel} units and an exhausted import that stops the guest;
     * returns the instructions it ran before being stopped; fails if it returns, traps otherwise, or runs
     * more than {@code 2 * fuel + 1000} instructions.
     */
    private static long stoppedAfter(String wat, long fuel, AsyncifyOptions options) {
        byte[] wasm = Asyncify.transform(Guest.named(wat), options);
        SuspensionDriver driver = new SuspensionDriver(SuspendPolicy.never());
        var fuelGlobal = driver.fuelImport(fuel);
        var stop = new run.endive.runtime.HostFunction(AsyncifyAbi.SUSPEND_MODULE,
                AsyncifyAbi.FUEL_EXHAUSTED_IMPORT, run.endive.wasm.types.FunctionType.of(
                        java.util.List.of(), java.util.List.of()), (inst, args) -> {
                            throw new Stopped();
                        });
        long[] executed = {0};
        Instance instance = Instance.builder(Parser.parse(wasm)).withImportValues(ImportValues.builder()
                .addFunction(stop).addGlobal(driver.stateImport()).addGlobal(fuelGlobal).build())
                .withUnsafeExecutionListener((in, stack) -> {
                    if (++executed[0] > 2 * fuel + 1_000) {
                        throw new AssertionError("ran " + executed[0] + " instructions on " + fuel + " units");
                    }
                }).build();
        try {
            driver.call(instance.export("run"), 0);
        } catch (Stopped expected) {
            return executed[0];
        }
        throw new AssertionError("the guest ended on its own");
    }

    @Test
    void endlessLoopsOfEveryUnrolledShapeAreStoppedBySmallBudgets() {
        // Endless: a constant condition (no free negation: copies nested in ifs), a counter that never
        // reaches 0 (the same), and a comparison (copies leaving through a negated br_if); each with a
        // loop ending its block or followed by code, and one around an inner loop that ends in its first
        // round. A wrong placement (an if arm or copy without the check, a back edge skipping it) would
        // run until the instruction cap below.
        String[] conditions = {"(i32.const 1)", "(local.tee $k (i32.add (local.get $k) (i32.const 2)))",
            "(i32.ge_s (local.get $k) (i32.const 0))"};
        String[] tails = {"", " (drop (i32.const 0))"};
        String inner = "(local.set $j (i32.const 3))"
                + " (loop $in (local.set $j (i32.sub (local.get $j) (i32.const 1))) (br_if $in (local.get $j)))";
        for (String condition : conditions) {
            for (String tail : tails) {
                for (String body : new String[] {"", inner}) {
                    String wat = "(module (func $run (export \"run\") (param $n i32) (result i32)"
                            + " (local $k i32) (local $j i32)"
                            + " (local.set $k (i32.const 1))"
                            + " (block $b (loop $l " + body
                            + "   (local.set $n (i32.add (local.get $n) (i32.const 1)))"
                            + "   (br_if $l " + condition + "))" + tail + ")"
                            + " (local.get $n)))";
                    for (AsyncifyOptions options : new AsyncifyOptions[] {metered(), notInstrumented()}) {
                        for (long budget : new long[] {1, 50, 10_000}) {
                            // Charges are never below the instructions run: the guest runs about its
                            // budget, twice over at most with the checks and the code they guard (the
                            // listener fails the run beyond that).
                            assertThat(stoppedAfter(wat, budget, options)).as(wat).isPositive();
                        }
                    }
                }
            }
        }
    }

    @Test
    void chargesAreDeterministic() {
        assertThat(fuelUsed(module(11), 1000)).isEqualTo(fuelUsed(module(11), 1000)).isPositive();
    }

    /**
     * Fuel between two probes around a suspension 8 frames deep, with and without the suspension: a
     * rewind re-enters every frame, and charges nothing on its way back (the host grants the resumed
     * segment its fuel where the rewind stops; before, each frame's entry check charged again).
     */
    private static long fuelAcrossASuspension(SuspendPolicy policy) {
        String wat = "(module"
                + " (import \"env\" \"probe\" (func $probe))"
                + " (import \"env\" \"ping\" (func $ping))"
                + " (func $down (param $d i32)"
                + "   (if (local.get $d) (then (call $down (i32.sub (local.get $d) (i32.const 1))))"
                + "     (else (call $probe) (call $ping) (call $probe))))"
                + " (func (export \"run\") (call $down (i32.const 8))))";
        AsyncifyOptions options = AsyncifyOptions.builder().dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY)
                .importState(true).fuel(true).unwindingImports(java.util.List.of("env.ping")).build();
        byte[] wasm = Asyncify.transform(Wat2Wasm.parse(wat), options);
        SuspensionDriver driver = new SuspensionDriver(policy);
        var fuel = driver.fuelImport(1L << 40);
        java.util.List<Long> probes = new java.util.ArrayList<>();
        var type = run.endive.wasm.types.FunctionType.of(java.util.List.of(), java.util.List.of());
        var probe = new run.endive.runtime.HostFunction("env", "probe", type, (inst, args) -> {
            probes.add(fuel.instance().getValue());
            return null;
        });
        var ping = driver.suspending(new run.endive.runtime.HostFunction("env", "ping", type, (inst, args) -> null));
        Instance instance = Instance.builder(Parser.parse(wasm)).withImportValues(ImportValues.builder()
                .addFunction(probe, ping, driver.fuelExhausted()).addGlobal(driver.stateImport()).addGlobal(fuel)
                .build()).build();
        instance.exports().memory(AsyncifyAbi.DATA_MEMORY_EXPORT).grow(1);
        driver.call(instance.export("run"));
        assertThat(probes).hasSize(2);
        return probes.get(0) - probes.get(1);
    }

    @Test
    void aRewindChargesNoFuel() {
        long suspended = fuelAcrossASuspension(SuspendPolicy.always());
        long straight = fuelAcrossASuspension(SuspendPolicy.never());
        assertThat(straight).isNotNegative();
        assertThat(suspended).isEqualTo(straight);
    }
}
