package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import run.endive.runtime.HostFunction;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Fuel metering and the time-slicing scheduler. */
class SchedulerTest {

    private static final String SPIN = "(module (func (export \"spin\") (loop (br_if 0 (i32.const 1)))))";
    private static final String RECURSE = "(module (func $r (export \"recurse\") (call $r)))";
    private static final String SPIN_IN_START = "(module (func $s (loop (br_if 0 (i32.const 1)))) (start $s) (func (export \"f\")))";
    private static final String COUNT = """
            (module
              (import "env" "emit" (func $emit (param i32 i32)))
              (func (export "count") (param $id i32) (param $n i32) (local $i i32)
                (loop $l
                  (call $emit (local.get $id) (local.get $i))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br_if $l (i32.lt_u (local.get $i) (local.get $n))))))
            """;
    private static final String ASYNC_WORK = """
            (module
              (import "env" "fetch" (func $fetch (param i32) (result i32)))
              (func (export "work") (param $n i32) (result i32) (local $acc i32)
                (loop $l
                  (local.set $acc (i32.add (local.get $acc) (call $fetch (local.get $n))))
                  (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                  (br_if $l (local.get $n)))
                (local.get $acc)))
            """;

    @Test
    void onTheDefaultExecutorSlicesEndWithoutSuspendingAndTheBudgetStillHolds() throws Exception {
        // Every call has a thread of its own there: pausing at a slice's end would only cost time.
        try (AsyncInstance spinner = AsyncInstance.builderFromWat(SPIN).withFuelQuantum(1_000)
                .withFuelBudget(2_000_000).build()) {
            assertThatThrownBy(() -> spinner.call("spin").get(60, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(FuelExhaustedException.class);
            GuestMetrics m = spinner.metrics();
            assertThat(m.preemptions()).isZero();
            assertThat(m.slices()).isEqualTo(1);
            assertThat(m.fuelUsed()).isBetween(2_000_000L, 2_010_000L);
        }
    }

    /** Sums 0..n-1 in a loop at the bottom of 30 recursive calls: a rewind passes 31 entry checks. */
    private static final String DEEP_SUM = """
            (module
              (func $down (param $d i32) (param $n i32) (result i32) (local $i i32) (local $acc i32)
                (if (result i32) (local.get $d)
                  (then (i32.add (call $down (i32.sub (local.get $d) (i32.const 1)) (local.get $n)) (i32.const 1)))
                  (else
                    (loop $l
                      (local.set $acc (i32.add (local.get $acc) (local.get $i)))
                      (local.set $i (i32.add (local.get $i) (i32.const 1)))
                      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
                    (local.get $acc))))
              (func (export "run") (param $n i32) (result i32) (call $down (i32.const 30) (local.get $n))))
            """;

    @Test
    void preemptionsCostNoFuel() throws Exception {
        // Each rewind passes the checks on its way back to the resume point again; they charge nothing
        // then, so a call uses the same fuel however often it is preempted.
        long unpreempted;
        try (AsyncInstance guest = AsyncInstance.builderFromWat(DEEP_SUM).withFuelQuantum(1_000).build()) {
            assertThat(guest.call("run", 100_000).get(60, TimeUnit.SECONDS)).containsExactly(704_982_734);
            assertThat(guest.metrics().preemptions()).isZero();
            unpreempted = guest.metrics().fuelUsed();
        }
        try (Scheduler scheduler = Scheduler.builder().withWorkers(1).withQuantum(1_000).build()) {
            AsyncInstance guest = scheduler.guest(AsyncInstance.builderFromWat(DEEP_SUM)).build();
            assertThat(guest.call("run", 100_000).get(60, TimeUnit.SECONDS)).containsExactly(704_982_734);
            GuestMetrics m = guest.metrics();
            assertThat(m.preemptions()).isGreaterThan(100);
            assertThat(m.fuelUsed()).isEqualTo(unpreempted);
        }
    }

    @Test
    void aBudgetSmallerThanTheQuantumStopsTheCallAtTheBudget() throws Exception {
        try (AsyncInstance spinner = AsyncInstance.builderFromWat(SPIN).withFuelBudget(5_000).build()) {
            assertThatThrownBy(() -> spinner.call("spin").get(60, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(FuelExhaustedException.class);
            // Not at the end of a default quantum (1,000,000 units), but within one check's charge.
            assertThat(spinner.metrics().fuelUsed()).isBetween(5_000L, 5_100L);
        }
    }

    @Test
    void infiniteBrIfLoopIsPreemptedNeverStarvesOthersAndIsTerminatedAtItsBudget() throws Exception {
        try (Scheduler scheduler = Scheduler.builder().withWorkers(1).withQuantum(1_000).build()) {
            AsyncInstance spinner = scheduler.guest(AsyncInstance.builderFromWat(SPIN).withFuelBudget(2_000_000)).build();
            CompletableFuture<long[]> spinning = spinner.call("spin");
            // With one worker, another guest still gets to run and finish while the spinner spins.
            AsyncInstance other = scheduler.guest(AsyncInstance.builderFromWat(ASYNC_WORK)
                    .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> CompletableFuture.completedFuture(x)))).build();
            assertThat(other.call("work", 100).get(30, TimeUnit.SECONDS)).containsExactly(5050);
            assertThat(spinning.isDone()).isFalse();
            assertThatThrownBy(() -> spinning.get(60, TimeUnit.SECONDS)).hasCauseInstanceOf(FuelExhaustedException.class)
                    .hasMessageContaining("fuel");
            GuestMetrics m = spinner.metrics();
            assertThat(m.preemptions()).isGreaterThanOrEqualTo(1_000); // 2,000,000 fuel / 1,000 per slice
            assertThat(m.fuelUsed()).isBetween(2_000_000L, 2_010_000L);
            // The terminated instance is discarded.
            assertThatThrownBy(() -> spinner.call("spin").get()).hasCauseInstanceOf(InstanceClosedException.class);
        }
    }

    @Test
    void infiniteRecursionIsPreemptedAndTerminatedAtItsBudget() throws Exception {
        // Each preemption unwinds and rewinds the whole recursion (tens of thousands of frames at the end):
        // 20 slices, not hundreds, keep this test's time in seconds on a loaded machine.
        try (Scheduler scheduler = Scheduler.builder().withWorkers(1).withQuantum(5_000).build()) {
            AsyncInstance guest = scheduler.guest(AsyncInstance.builderFromWat(RECURSE).withFuelBudget(100_000)).build();
            assertThatThrownBy(() -> guest.call("recurse").get(60, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(FuelExhaustedException.class);
            assertThat(guest.metrics().preemptions()).isGreaterThan(15);
        }
    }

    @Test
    void loopInTheStartFunctionIsPreemptedAndTerminated() {
        try (Scheduler scheduler = Scheduler.builder().withWorkers(1).withQuantum(1_000).build()) {
            assertThatThrownBy(() -> scheduler.guest(AsyncInstance.builderFromWat(SPIN_IN_START).withFuelBudget(50_000)).build())
                    .isInstanceOf(FuelExhaustedException.class);
        }
    }

    @Test
    void deadlineTerminatesARunawayGuest() throws Exception {
        try (Scheduler scheduler = Scheduler.builder().withWorkers(1).withQuantum(10_000).build()) {
            AsyncInstance guest = scheduler.guest(AsyncInstance.builderFromWat(SPIN).withDeadline(Duration.ofMillis(200))).build();
            assertThatThrownBy(() -> guest.call("spin").get(30, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(DeadlineExceededException.class);
        }
    }

    @Test
    void memoryPageLimitStopsGrowth() throws Exception {
        String wat = "(module (memory 1) (func (export \"grow\") (param i32) (result i32) (memory.grow (local.get 0))))";
        try (AsyncInstance guest = AsyncInstance.builderFromWat(wat).withMaxMemoryPages(4).build()) {
            assertThat(guest.call("grow", 3).get(10, TimeUnit.SECONDS)).containsExactly(1);
            assertThat(guest.call("grow", 1).get(10, TimeUnit.SECONDS)).containsExactly(-1);
        }
    }

    /** 1,000 guests, CPU-bound and async, on 2 workers: all complete, CPU-bound ones get fair shares. */
    @Test
    void thousandGuestsShareTheWorkersFairly() throws Exception {
        try (Scheduler scheduler = Scheduler.builder().withWorkers(2).withQuantum(2_000).build()) {
            List<AsyncInstance> spinners = new ArrayList<>();
            List<CompletableFuture<long[]>> spinning = new ArrayList<>();
            List<CompletableFuture<long[]>> asyncResults = new ArrayList<>();
            for (int i = 0; i < 1_000; i++) {
                if (i % 2 == 0) {
                    AsyncInstance g = scheduler.guest(AsyncInstance.builderFromWat(SPIN)).build();
                    spinners.add(g);
                    spinning.add(g.call("spin"));
                } else {
                    AsyncInstance g = scheduler.guest(AsyncInstance.builderFromWat(ASYNC_WORK)
                            .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> CompletableFuture.supplyAsync(() -> 1,
                                    CompletableFuture.delayedExecutor(1, TimeUnit.MILLISECONDS))))).build();
                    asyncResults.add(g.call("work", 20));
                }
            }
            for (CompletableFuture<long[]> r : asyncResults) {
                assertThat(r.get(120, TimeUnit.SECONDS)).containsExactly(20);
            }
            // Compare the slices each CPU-bound guest got while all of them competed for the workers.
            long[] before = spinners.stream().mapToLong(g -> g.metrics().slices()).toArray();
            long target = before[0] + 30;
            AsyncInstanceTest.waitFor(() -> spinners.get(0).metrics().slices() >= target);
            long[] after = spinners.stream().mapToLong(g -> g.metrics().slices()).toArray();
            spinning.forEach(f -> f.cancel(true));
            long[] share = new long[after.length];
            for (int i = 0; i < share.length; i++) {
                share[i] = after[i] - before[i];
            }
            double fair = java.util.Arrays.stream(share).average().orElseThrow();
            assertThat(fair).isGreaterThanOrEqualTo(25);
            for (long s : share) {
                assertThat((double) s).isBetween(fair * 0.9, fair * 1.1);
            }
        }
    }

    /** Same module, input and quantum: the same preemption points and the same interleaving of effects. */
    @Test
    void preemptionIsDeterministic() throws Exception {
        assertThat(interleaving()).isEqualTo(interleaving());
    }

    private static List<String> interleaving() throws Exception {
        List<String> effects = new CopyOnWriteArrayList<>();
        try (Scheduler scheduler = Scheduler.builder().withWorkers(1).withQuantum(300).withStartPaused(true).build()) {
            List<CompletableFuture<long[]>> calls = new ArrayList<>();
            List<AsyncInstance> guests = new ArrayList<>();
            for (int id = 0; id < 3; id++) {
                AsyncInstance[] self = new AsyncInstance[1];
                AsyncInstance g = scheduler.guest(AsyncInstance.builderFromWat(COUNT)
                        .withHostFunction(new HostFunction("env", "emit", FunctionType.of(List.of(ValType.I32, ValType.I32), List.of()),
                                (inst, args) -> {
                                    effects.add(args[0] + ":" + args[1] + "@" + self[0].metrics().preemptions());
                                    return null;
                                }))).build();
                self[0] = g;
                guests.add(g);
            }
            // Queue all three calls before the worker starts.
            for (int id = 0; id < 3; id++) {
                calls.add(guests.get(id).call("count", id, 200));
            }
            scheduler.start();
            for (CompletableFuture<long[]> c : calls) {
                c.get(60, TimeUnit.SECONDS);
            }
        }
        assertThat(effects).hasSize(600);
        // The guests really were interleaved: guest 1 emits before guest 0 has finished.
        int lastOfGuest0 = 0;
        for (int i = 0; i < effects.size(); i++) {
            if (effects.get(i).startsWith("0:")) {
                lastOfGuest0 = i;
            }
        }
        assertThat(effects.indexOf("1:0@0")).isBetween(0, lastOfGuest0);
        return effects;
    }
}
