package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import run.endive.runtime.Instance;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Bulk instructions (memory.fill, memory.copy, memory.grow, table.grow, table.fill) pay for their
 * length: a loop of them cannot outrun a fuel budget, and the instruction that would exceed it never
 * runs. (Charged one unit each, the loops below would run for minutes under the budget.)
 */
class BulkFuelTest {

    private static final long BUDGET = 1_000_000;
    private static final int MIB = 1 << 20;

    /** Loops forever; {@code $done} counts the bulk instructions that ran, each leaving its number in memory. */
    private static final String GUEST = """
            (module
              (memory (export "memory") 512 4096)
              (table $t 0 100000000 funcref)
              (table $big 100000 funcref)
              (global $done (export "done") (mut i32) (i32.const 0))
              (func (export "fills") (param $size i32)
                (loop $l
                  (memory.fill (i32.const 0) (i32.add (global.get $done) (i32.const 1)) (local.get $size))
                  (global.set $done (i32.add (global.get $done) (i32.const 1)))
                  (br $l)))
              (func (export "copies") (param $size i32)
                (loop $l
                  (i32.store (i32.const 16777216) (i32.add (global.get $done) (i32.const 1)))
                  (memory.copy (i32.const 0) (i32.const 16777216) (local.get $size))
                  (global.set $done (i32.add (global.get $done) (i32.const 1)))
                  (br $l)))
              (func (export "grows") (param $pages i32)
                (loop $l
                  (br_if 1 (i32.eq (memory.grow (local.get $pages)) (i32.const -1)))
                  (global.set $done (i32.add (global.get $done) (i32.const 1)))
                  (br $l)))
              (func (export "tgrows") (param $n i32)
                (loop $l
                  (br_if 1 (i32.eq (table.grow $t (ref.null func) (local.get $n)) (i32.const -1)))
                  (global.set $done (i32.add (global.get $done) (i32.const 1)))
                  (br $l)))
              (func (export "tfills")
                (loop $l
                  (table.fill $big (i32.const 0) (ref.null func) (i32.const 100000))
                  (global.set $done (i32.add (global.get $done) (i32.const 1)))
                  (br $l)))
              (func (export "sum") (param $n i32) (param $size i32) (result i32) (local $i i32) (local $acc i32)
                (loop $l
                  (memory.fill (local.get $i) (i32.add (local.get $i) (i32.const 1)) (local.get $size))
                  (memory.copy (i32.const 16777216) (local.get $i) (local.get $size))
                  (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31))
                    (i32.load (i32.add (i32.const 16777216) (i32.sub (local.get $size) (i32.const 4))))))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
                (i32.add (local.get $acc) (memory.size))))
            """;

    /** Runs {@code export(arg)} under the budget; it must stop with FuelExhaustedException, promptly. */
    private static Instance exhaust(String export, long... args) throws Exception {
        AsyncInstance guest = AsyncInstance.builderFromWat(GUEST).withFuelBudget(BUDGET).build();
        assertThatThrownBy(() -> guest.call(export, args).get(60, TimeUnit.SECONDS))
                .hasCauseInstanceOf(FuelExhaustedException.class);
        assertThat(guest.metrics().fuelUsed()).isBetween(BUDGET, 2 * BUDGET);
        return guest.instance();
    }

    private static int done(Instance i) {
        return (int) i.exports().global("done").getValue();
    }

    @Test
    void aSixteenMibFillOverTheBudgetNeverRuns() throws Exception {
        Instance i = exhaust("fills", 16 * MIB); // 1,048,576 units: more than the whole budget
        assertThat(done(i)).isZero();
        assertThat(i.memory(0).read(0)).isZero();
        assertThat(i.memory(0).read(16 * MIB - 1)).isZero();
    }

    @Test
    void fillsRunUntilTheOneThatWouldExceedTheBudget() throws Exception {
        Instance i = exhaust("fills", 4 * MIB); // 262,144 units each: three fit in 1,000,000
        assertThat(done(i)).isEqualTo(3);
        assertThat(i.memory(0).read(0)).isEqualTo((byte) 3);
        assertThat(i.memory(0).read(4 * MIB - 1)).isEqualTo((byte) 3);
    }

    @Test
    void copiesPayForTheirLength() throws Exception {
        Instance big = exhaust("copies", 16 * MIB);
        assertThat(done(big)).isZero();
        assertThat(big.memory(0).readInt(0)).isZero();
        Instance small = exhaust("copies", 4 * MIB);
        assertThat(done(small)).isEqualTo(3);
        assertThat(small.memory(0).readInt(0)).isEqualTo(3);
    }

    @Test
    void memoryGrowPaysForItsPages() throws Exception {
        // 16 pages = 1 MiB = 65,536 units a grow: 15 fit in the budget (not the 4096-page maximum).
        Instance i = exhaust("grows", 16);
        assertThat(done(i)).isEqualTo(15);
        assertThat(i.memory(0).pages()).isEqualTo(512 + 15 * 16);
    }

    @Test
    void tableGrowPaysForTheTableItCopies() throws Exception {
        // A grow by 1000 to k * 1000 slots costs k * 1000 units: 44 grows (990,000 units) fit in the budget.
        Instance i = exhaust("tgrows", 1000);
        assertThat(done(i)).isEqualTo(44);
        assertThat(i.table(0).size()).isEqualTo(44_000);
    }

    @Test
    void tableFillPaysPerElement() throws Exception {
        Instance i = exhaust("tfills"); // 100,000 units each: 9 fit
        assertThat(done(i)).isEqualTo(9);
    }

    @Test
    void preemptedAtBulkChecksACallUsesTheSameFuelAndComputesTheSameResult() throws Exception {
        // 1 MiB costs 65,536 units, more than a 10,000-unit slice: on a shared executor every fill and
        // copy is preempted at its check, resumes, runs once and is charged once.
        long[] plain;
        long plainFuel;
        try (AsyncInstance alone = AsyncInstance.builderFromWat(GUEST).withFuelQuantum(10_000).build()) {
            plain = alone.call("sum", 6, MIB).get(60, TimeUnit.SECONDS);
            assertThat(alone.metrics().preemptions()).isZero();
            plainFuel = alone.metrics().fuelUsed();
        }
        ExecutorService executor = Executors.newSingleThreadExecutor();
        try (AsyncInstance shared = AsyncInstance.builderFromWat(GUEST).withFuelQuantum(10_000)
                .withExecutor(executor).build()) {
            assertThat(shared.call("sum", 6, MIB).get(60, TimeUnit.SECONDS)).isEqualTo(plain);
            assertThat(shared.metrics().preemptions()).isGreaterThanOrEqualTo(12);
            assertThat(shared.metrics().fuelUsed()).isEqualTo(plainFuel);
        } finally {
            executor.shutdownNow();
        }
        assertThat(plainFuel).isGreaterThan(12L * (MIB >>> 4));
    }
}
