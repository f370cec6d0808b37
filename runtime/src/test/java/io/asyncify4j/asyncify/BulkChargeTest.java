package io.asyncify4j.asyncify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportGlobal;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import com.dylibso.chicory.wabt.Wat2Wasm;
import run.endive.wasm.Parser;
import run.endive.wasm.types.FunctionType;
import io.asyncify4j.engine.SuspendPolicy;
import io.asyncify4j.engine.SuspensionDriver;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Bulk instructions are charged by their length, at run time, before they run. */
class BulkChargeTest {

    /** Exported leaves (uncharged statically when the host calls them): what they use is the bulk charge. */
    private static final String OPS = """
            (module
              (memory 256 300)
              (table $t 4 1000 funcref)
              (table $u 64 funcref)
              (elem $e func $a $b $a $b $a)
              (data $d "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
              (func $a (result i32) (i32.const 1))
              (func $b (result i32) (i32.const 2))
              (func (export "fill") (param $n i32) (memory.fill (i32.const 0) (i32.const 7) (local.get $n)))
              (func (export "copy") (param $n i32) (memory.copy (i32.const 0) (i32.const 100) (local.get $n)))
              (func (export "init") (param $n i32) (memory.init $d (i32.const 0) (i32.const 0) (local.get $n)))
              (func (export "grow") (param $n i32) (result i32) (memory.grow (local.get $n)))
              (func (export "tfill") (param $n i32) (table.fill $u (i32.const 0) (ref.null func) (local.get $n)))
              (func (export "tcopy") (param $n i32) (table.copy $u $u (i32.const 0) (i32.const 1) (local.get $n)))
              (func (export "tinit") (param $n i32) (table.init $u $e (i32.const 0) (i32.const 0) (local.get $n)))
              (func (export "tgrow") (param $n i32) (result i32) (table.grow $t (ref.null func) (local.get $n)))
              (func (export "byte") (param $a i32) (result i32) (i32.load8_u (local.get $a)))
              (func (export "msize") (result i32) (memory.size))
              (func (export "tsize") (result i32) (table.size $t)))
            """;

    private static AsyncifyOptions metered() {
        return AsyncifyOptions.builder().dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY)
                .importState(true).fuel(true).build();
    }

    private static final byte[] TRANSFORMED = Asyncify.transform(Wat2Wasm.parse(OPS), metered());

    /** Fuel {@code export(n)} uses on a fresh instance with fuel to spare. */
    private static long charge(String export, int n) {
        SuspensionDriver driver = new SuspensionDriver(SuspendPolicy.never());
        long quantum = 1L << 40;
        ImportGlobal fuel = driver.fuelImport(quantum);
        Instance instance = Instance.builder(Parser.parse(TRANSFORMED)).withImportValues(ImportValues.builder()
                .addFunction(driver.fuelExhausted()).addGlobal(driver.stateImport()).addGlobal(fuel).build()).build();
        driver.call(instance.export(export), n);
        assertThat(driver.preemptions()).isZero();
        return quantum - fuel.instance().getValue();
    }

    @Test
    void memoryInstructionsPayOneUnitPer16Bytes() {
        for (int n : new int[] {0, 1, 15, 16, 17, 4096, 65536, 16 << 20}) {
            assertThat(charge("fill", n)).as("fill %d", n).isEqualTo(n >>> 4);
        }
        for (int n : new int[] {0, 16, 1000, 1 << 20}) {
            assertThat(charge("copy", n)).as("copy %d", n).isEqualTo(n >>> 4);
        }
        for (int n : new int[] {0, 31, 32, 64}) {
            assertThat(charge("init", n)).as("init %d", n).isEqualTo(n >>> 4);
        }
    }

    @Test
    void memoryGrowPaysForThePagesItAddsOnlyWhenItCanSucceed() {
        assertThat(charge("grow", 0)).isZero();
        assertThat(charge("grow", 1)).isEqualTo(65536 >>> 4);
        assertThat(charge("grow", 44)).isEqualTo(44 * (65536 >>> 4)); // up to the maximum, 300 pages
        assertThat(charge("grow", 45)).isZero(); // fails: no work
        assertThat(charge("grow", -1)).isZero(); // 2^32 - 1 pages: fails
    }

    @Test
    void tableInstructionsPayOneUnitPerElementAndGrowPaysTheNewSize() {
        for (int n : new int[] {0, 1, 63}) {
            assertThat(charge("tfill", n)).as("tfill %d", n).isEqualTo(n);
            assertThat(charge("tcopy", n)).as("tcopy %d", n).isEqualTo(n);
        }
        assertThat(charge("tinit", 5)).isEqualTo(5);
        // The engine copies the whole table into the grown one: 4 elements plus the new ones.
        assertThat(charge("tgrow", 10)).isEqualTo(14);
        assertThat(charge("tgrow", 996)).isEqualTo(1000);
        assertThat(charge("tgrow", 997)).isZero(); // beyond the maximum: fails
        assertThat(charge("tgrow", -1)).isZero();
    }

    private static final class Stop extends RuntimeException {
        Stop() {
            super("out of fuel");
        }
    }

    /** An instance whose fuel_exhausted import stops the guest (as a budget does), with {@code fuel} units. */
    private static Instance stopping(long fuel) {
        SuspensionDriver driver = new SuspensionDriver(SuspendPolicy.never());
        ImportGlobal global = driver.fuelImport(fuel);
        HostFunction stop = new HostFunction(AsyncifyAbi.SUSPEND_MODULE, AsyncifyAbi.FUEL_EXHAUSTED_IMPORT,
                FunctionType.of(List.of(), List.of()), (inst, args) -> {
                    throw new Stop();
                });
        return Instance.builder(Parser.parse(TRANSFORMED)).withImportValues(ImportValues.builder()
                .addFunction(stop).addGlobal(driver.stateImport()).addGlobal(global).build()).build();
    }

    @Test
    void anInstructionTheFuelCannotPayForNeverRuns() {
        Instance poor = stopping(65535); // one unit short of a 1 MiB fill
        assertThatThrownBy(() -> poor.export("fill").apply(1 << 20)).isInstanceOf(Stop.class);
        assertThat(poor.export("byte").apply(0)[0]).isZero();
        assertThat(poor.export("byte").apply((1 << 20) - 1)[0]).isZero();
        Instance enough = stopping(65536);
        enough.export("fill").apply(1 << 20);
        assertThat(enough.export("byte").apply((1 << 20) - 1)[0]).isEqualTo(7);

        Instance noPage = stopping(4095);
        assertThatThrownBy(() -> noPage.export("grow").apply(1)).isInstanceOf(Stop.class);
        assertThat(noPage.export("msize").apply()[0]).isEqualTo(256);

        Instance noSlots = stopping(103);
        assertThatThrownBy(() -> noSlots.export("tgrow").apply(100)).isInstanceOf(Stop.class);
        assertThat(noSlots.export("tsize").apply()[0]).isEqualTo(4);
    }

    /**
     * A loop of bulk instructions whose effects show when one runs twice or with other operands: an
     * overlapping copy, grows whose old sizes are summed, fills and table copies that later reads see.
     */
    private static final String MIXED = """
            (module
              (memory 1 64)
              (table $t 8 10000 funcref)
              (elem $e func $a $b $c)
              (data $d "the quick brown fox jumps over the lazy dog")
              (func $a (result i32) (i32.const 3))
              (func $b (result i32) (i32.const 5))
              (func $c (result i32) (i32.const 7))
              (type $r (func (result i32)))
              (func $slot (param $i i32) (result i32)
                (if (result i32) (ref.is_null (table.get $t (local.get $i)))
                  (then (i32.const 11)) (else (call_indirect $t (type $r) (local.get $i)))))
              (func (export "run") (param $n i32) (result i32) (local $i i32) (local $acc i32) (local $k i32)
                (loop $l
                  (memory.fill (i32.mul (local.get $i) (i32.const 37)) (i32.add (local.get $i) (i32.const 1))
                    (i32.add (i32.const 1) (i32.mul (local.get $i) (i32.const 97))))
                  (memory.copy (i32.const 3) (i32.const 0) (i32.mul (local.get $i) (i32.const 53)))
                  (memory.init $d (i32.add (i32.const 40) (local.get $i)) (i32.const 0)
                    (i32.rem_u (local.get $i) (i32.const 44)))
                  (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31))
                    (memory.grow (i32.rem_u (local.get $i) (i32.const 2)))))
                  (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31))
                    (table.grow $t (ref.func $c) (local.get $i))))
                  (table.init $t $e (i32.rem_u (local.get $i) (i32.const 5)) (i32.const 0) (i32.const 3))
                  (table.fill $t (i32.const 0) (ref.null func) (i32.rem_u (local.get $i) (i32.const 4)))
                  (table.copy $t $t (i32.const 1) (i32.const 0) (i32.add (i32.const 1) (i32.rem_u (local.get $i) (i32.const 6))))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
                ;; checksum: the first 4 KiB, every table slot, both sizes
                (local.set $k (i32.const 0))
                (loop $sum
                  (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (i32.load (local.get $k))))
                  (local.set $k (i32.add (local.get $k) (i32.const 4)))
                  (br_if $sum (i32.lt_u (local.get $k) (i32.const 4096))))
                (local.set $k (i32.const 0))
                (loop $slots
                  (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 7)) (call $slot (local.get $k))))
                  (local.set $k (i32.add (local.get $k) (i32.const 1)))
                  (br_if $slots (i32.lt_u (local.get $k) (table.size $t))))
                (i32.add (local.get $acc) (i32.add (memory.size) (table.size $t)))))
            """;

    @Test
    void gcArrayInstructionsAreChargedAndResumeExactly() {
        // In order: array.new 4, fill 2, new_data 3, copy 3, init_data 1, new_default 5, new_elem 1,
        // init_elem 1: 20 elements, one unit each.
        byte[] original = io.asyncify4j.wasm.codec.FeatureRoundTripTest.gcModule();
        byte[] wasm = Asyncify.transform(original, metered());
        long[] used = new long[2];
        for (int n : new int[] {0, 5}) {
            long expected = Instance.builder(Parser.parse(original)).build().export("f").apply(n)[0];
            for (long quantum : new long[] {1, 4, 1L << 40}) {
                SuspensionDriver driver = new SuspensionDriver(SuspendPolicy.always());
                ImportGlobal fuel = driver.fuelImport(quantum);
                Instance instance = Instance.builder(Parser.parse(wasm)).withImportValues(ImportValues.builder()
                        .addFunction(driver.fuelExhausted()).addGlobal(driver.stateImport()).addGlobal(fuel)
                        .build()).build();
                assertThat(driver.call(instance.export("f"), n)[0]).as("n=%d quantum=%d", n, quantum)
                        .isEqualTo(expected);
                if (quantum == 1) {
                    // Refilled to 1 unit after each exhaustion, a 1-element check right after one leaves
                    // 0, not below: init_data and new_elem pass, init_elem then preempts: 6 of the 8.
                    assertThat(driver.preemptions()).isEqualTo(6);
                }
                if (quantum == 1L << 40) {
                    used[n == 0 ? 0 : 1] = quantum - fuel.instance().getValue();
                }
            }
        }
        assertThat(used[0]).isEqualTo(20).isEqualTo(used[1]); // an exported leaf: only the bulk charges
    }

    @Test
    void preemptedAtEveryCheckEachBulkInstructionRunsOnceWithItsOperands() {
        byte[] original = Wat2Wasm.parse(MIXED);
        byte[] wasm = Asyncify.transform(original, metered());
        for (int n : new int[] {1, 2, 7, 30}) {
            long expected = Instance.builder(Parser.parse(original)).build().export("run").apply(n)[0];
            for (long quantum : new long[] {1, 2, 37, 1000, 1L << 40}) {
                SuspensionDriver driver = new SuspensionDriver(SuspendPolicy.always());
                ImportGlobal fuel = driver.fuelImport(quantum);
                Instance instance = Instance.builder(Parser.parse(wasm)).withImportValues(ImportValues.builder()
                        .addFunction(driver.fuelExhausted()).addGlobal(driver.stateImport()).addGlobal(fuel)
                        .build()).build();
                assertThat(driver.call(instance.export("run"), n)[0]).as("n=%d quantum=%d", n, quantum)
                        .isEqualTo(expected);
                if (quantum == 1) {
                    // With one unit, every check that charges anything preempts, the bulk ones included.
                    assertThat(driver.preemptions()).as("n=%d", n).isGreaterThan(8L * n);
                }
            }
        }
    }
}
