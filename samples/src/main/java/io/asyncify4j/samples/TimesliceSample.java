package io.asyncify4j.samples;

import static java.util.concurrent.TimeUnit.MILLISECONDS;

import io.asyncify4j.host.AsyncImport;
import io.asyncify4j.host.AsyncInstance;
import io.asyncify4j.host.AsyncModule;
import io.asyncify4j.host.FuelExhaustedException;
import io.asyncify4j.host.GuestMetrics;
import io.asyncify4j.host.InstancePre;
import io.asyncify4j.host.Linker;
import io.asyncify4j.host.Scheduler;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Time-slicing untrusted wasm: CPU-bound guests that never return share two worker threads with
 * guests doing async work; a heavier-weighted guest gets a bigger share; a guest with a fuel budget is
 * stopped when it runs out. Progress lines show each guest's share of the fuel burnt so far.
 */
public final class TimesliceSample implements Sample {
    private static final String SPIN = "(module (func (export \"spin\") (loop (br_if 0 (i32.const 1)))))";
    private static final String IO = """
            (module
              (import "env" "fetch" (func $fetch (param i32) (result i32)))
              (func (export "work") (param $n i32) (result i32) (local $acc i32)
                (loop $l
                  (local.set $acc (i32.add (local.get $acc) (call $fetch (local.get $n))))
                  (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                  (br_if $l (local.get $n)))
                (local.get $acc)))
            """;

    @Override
    public String name() {
        return "timeslice";
    }

    @Override
    public String description() {
        return "CPU-bound guests that never return share 2 workers with async guests, preempted by fuel";
    }

    private record Guest(String name, AsyncInstance instance, CompletableFuture<long[]> call) {}

    @Override
    public void run(PrintStream out) throws Exception {
        try (Scheduler scheduler = Scheduler.builder().withWorkers(2).withQuantum(20_000).build()) {
            // Each module is made (validated, transformed) and linked once; guests are instances of it.
            InstancePre spin = Linker.builder().build().instantiatePre(AsyncModule.builderFromWat(SPIN).build());
            InstancePre io = Linker.builder()
                    .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> CompletableFuture.supplyAsync(() -> 1,
                            CompletableFuture.delayedExecutor(10, MILLISECONDS))))
                    .build()
                    .instantiatePre(AsyncModule.builderFromWat(IO).withAsyncImports("env.fetch").build());
            List<Guest> guests = new ArrayList<>();
            for (String name : List.of("spin-a", "spin-b")) {
                AsyncInstance g = scheduler.guest(spin.builder()).build();
                guests.add(new Guest(name, g, g.call("spin")));
            }
            AsyncInstance heavy = scheduler.guest(spin.builder().withWeight(2)).build();
            guests.add(new Guest("spin-x2", heavy, heavy.call("spin")));
            AsyncInstance budgeted = scheduler.guest(spin.builder().withFuelBudget(2_000_000)).build();
            guests.add(new Guest("spin-budget", budgeted, budgeted.call("spin")));
            for (String name : List.of("io-1", "io-2")) {
                AsyncInstance g = scheduler.guest(io.builder()).build();
                guests.add(new Guest(name, g, g.call("work", 100)));
            }
            out.println("6 guests on 2 worker threads, 20,000 fuel units per slice; spin-x2 has weight 2,"
                    + " spin-budget a budget of 2,000,000 units; io-* await 100 async fetches each");
            for (int tick = 1; tick <= 6; tick++) {
                Thread.sleep(500);
                long total = guests.stream().mapToLong(g -> g.instance().metrics().fuelUsed()).sum();
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "t=%.1fs", tick * 0.5));
                for (Guest g : guests) {
                    GuestMetrics m = g.instance().metrics();
                    line.append(String.format(Locale.ROOT, " | %s %4.1f%% %s", g.name(),
                            total == 0 ? 0.0 : 100.0 * m.fuelUsed() / total, status(g, m)));
                }
                out.println(line);
            }
            for (Guest g : guests) {
                g.call().cancel(true);
            }
            for (Guest g : guests) {
                GuestMetrics m = g.instance().metrics();
                out.printf(Locale.ROOT, "%-11s slices %6d  preemptions %6d  suspensions %4d  fuel %,13d  cpu %5d ms  %s%n",
                        g.name(), m.slices(), m.preemptions(), m.suspensions(), m.fuelUsed(),
                        TimeUnit.NANOSECONDS.toMillis(m.runNanos()), outcome(g));
            }
        }
    }

    private static String status(Guest g, GuestMetrics m) {
        if (!g.call().isDone()) {
            return "running";
        }
        return g.call().isCompletedExceptionally() ? "stopped" : "done";
    }

    private static String outcome(Guest g) {
        CompletableFuture<long[]> c = g.call();
        if (c.isCancelled()) {
            return "cancelled by the host";
        }
        try {
            return "returned " + c.join()[0];
        } catch (RuntimeException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            return cause instanceof FuelExhaustedException ? "stopped: fuel budget used up" : "failed: " + cause;
        }
    }
}
