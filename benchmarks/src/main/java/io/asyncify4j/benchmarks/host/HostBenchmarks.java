package io.asyncify4j.benchmarks.host;

import io.asyncify4j.engine.Engines;
import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import com.dylibso.chicory.wabt.Wat2Wasm;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;
import io.asyncify4j.host.AsyncImport;
import io.asyncify4j.host.AsyncInstance;
import io.asyncify4j.host.AsyncModule;
import io.asyncify4j.host.InstancePre;
import io.asyncify4j.host.Linker;
import io.asyncify4j.host.Engine;
import io.asyncify4j.host.GuestMetrics;
import io.asyncify4j.host.Scheduler;
import io.asyncify4j.host.SuspensionListener;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Benchmarks of the host runtime (asyncify-host): suspend+resume round trips against a thread-handoff
 * baseline, memory held per suspended call, and the scheduler's preemption latency and fairness.
 * Every figure compares variants measured in the same run.
 */
public final class HostBenchmarks {
    /** {@code loop(n, depth)}: n times, recurse depth levels and await env.ping at the bottom. */
    static final String PING = """
            (module
              (import "env" "ping" (func $ping (result i32)))
              (func $at (param $depth i32) (result i32)
                (if (result i32) (i32.eqz (local.get $depth))
                  (then (call $ping))
                  (else (call $at (i32.sub (local.get $depth) (i32.const 1))))))
              (func (export "loop") (param $n i32) (param $depth i32) (result i32) (local $acc i32)
                (loop $l
                  (local.set $acc (i32.add (local.get $acc) (call $at (local.get $depth))))
                  (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                  (br_if $l (local.get $n)))
                (local.get $acc)))
            """;
    static final String SPIN = "(module (func (export \"spin\") (loop (br_if 0 (i32.const 1)))))";

    private final PrintStream out;
    private final int roundTrips;

    public HostBenchmarks(PrintStream out, int roundTrips) {
        this.out = out;
        this.roundTrips = roundTrips;
    }

    /** A thread that completes the futures handed to it, in order: the "backend" of every variant. */
    private static final class Completer implements AutoCloseable {
        private final BlockingQueue<CompletableFuture<long[]>> queue = new LinkedBlockingQueue<>();
        private final Thread thread = new Thread(this::run, "bench-completer");

        Completer() {
            thread.setDaemon(true);
            thread.start();
        }

        CompletableFuture<long[]> next() {
            CompletableFuture<long[]> f = new CompletableFuture<>();
            queue.add(f);
            return f;
        }

        private void run() {
            try {
                while (true) {
                    queue.take().complete(new long[] {1});
                }
            } catch (InterruptedException e) {
                // done
            }
        }

        @Override
        public void close() {
            thread.interrupt();
        }
    }

    /** Warm-up rounds before the measured ones of each round-trip figure (the JIT compiles the interpreter meanwhile). */
    static final int ROUND_TRIP_WARMUP = 3;
    /** Measured rounds of each round-trip figure; the median is reported. */
    static final int ROUND_TRIP_ROUNDS = 5;

    /**
     * Round trips per second: asyncify suspend+resume vs the same plain module whose host function blocks
     * until the future completes, on a platform thread (a thread handoff) and, on JDK 21+, on a virtual
     * thread (the JVM's own alternative to a transform: it unmounts while blocked). For each depth and
     * engine the variants run in interleaved rounds (each round starts with another variant), after
     * {@link #ROUND_TRIP_WARMUP} warm-up rounds; reported are the median rate of each variant over
     * {@link #ROUND_TRIP_ROUNDS} rounds and the median of the per-round ratios (variants measured a
     * moment apart, so a machine busy with other work moves both).
     */
    public void roundTrips() throws Exception {
        java.util.concurrent.ExecutorService virtualThreads = virtualThreadExecutor();
        out.printf(Locale.ROOT, "== suspend+resume round trips per second (a completer thread completes each host future;"
                + " median of %d interleaved rounds after %d warm-up rounds) ==%n", ROUND_TRIP_ROUNDS, ROUND_TRIP_WARMUP);
        out.printf(Locale.ROOT, "%-6s %-12s %8s %14s %14s %8s %14s %8s%n", "depth", "engine", "per round", "asyncify/s",
                "thread/s", "ratio", "vthread/s", "ratio");
        try {
            for (int depth : new int[] {1, 10, 100}) {
                for (Engine engine : runnableEngines()) {
                    int n = roundTripsPerRound(depth);
                    List<RoundTripVariant> variants = new ArrayList<>();
                    variants.add(asyncifyVariant(engine, depth));
                    variants.add(blockingVariant(engine, depth, null));
                    if (virtualThreads != null) {
                        variants.add(blockingVariant(engine, depth, virtualThreads));
                    }
                    double[][] rates = interleavedRounds(variants, n);
                    for (RoundTripVariant v : variants) {
                        v.close();
                    }
                    double virtual = virtualThreads == null ? Double.NaN : median(rates[2]);
                    double virtualRatio = virtualThreads == null ? Double.NaN : medianRatio(rates[0], rates[2]);
                    out.printf(Locale.ROOT, "%-6d %-12s %8d %14.0f %14.0f %8.2f %14.0f %8.2f%n", depth,
                            engine.name().toLowerCase(Locale.ROOT), n, median(rates[0]), median(rates[1]),
                            medianRatio(rates[0], rates[1]), virtual, virtualRatio);
                }
            }
        } finally {
            if (virtualThreads != null) {
                virtualThreads.shutdown();
            }
        }
        if (virtualThreads == null) {
            out.println("(virtual-thread baseline: needs JDK 21+, this is JDK " + Runtime.version().feature() + ")");
        }
        noteSkippedCompiler();
    }

    /** The engines that can run this runtime's modules: the compiler only where its version allows. */
    private static List<Engine> runnableEngines() {
        return Arrays.stream(Engine.values()).filter(e -> e != Engine.COMPILER || Engines.compilerSupported()).toList();
    }

    /** Says so when the compiler was left out ({@link #runnableEngines}), rather than leaving a silent gap. */
    private void noteSkippedCompiler() {
        if (!Engines.compilerSupported()) {
            out.println("(compiler: not measured, Endive's compiler " + Engines.compilerVersion()
                    + " cannot run modules of runtime " + Engines.version() + ")");
        }
    }

    /** Round trips per round: fewer at depth 100, where one costs ten times more. */
    private int roundTripsPerRound(int depth) {
        return Math.max(1, depth >= 100 ? roundTrips / 5 : roundTrips);
    }

    /** One way to make {@code n} round trips at a fixed depth; returns the rate (also run by the JMH module). */
    public interface RoundTripVariant extends AutoCloseable {
        double run(int n) throws Exception;

        @Override
        void close();
    }

    /**
     * Rates per variant and round: {@link #ROUND_TRIP_WARMUP} rounds not kept, then
     * {@link #ROUND_TRIP_ROUNDS} kept; round r starts with variant r mod the number of variants.
     */
    static double[][] interleavedRounds(List<RoundTripVariant> variants, int n) throws Exception {
        double[][] rates = new double[variants.size()][ROUND_TRIP_ROUNDS];
        for (int round = -ROUND_TRIP_WARMUP; round < ROUND_TRIP_ROUNDS; round++) {
            for (int k = 0; k < variants.size(); k++) {
                int which = Math.floorMod(round + k, variants.size());
                double rate = variants.get(which).run(n);
                if (round >= 0) {
                    rates[which][round] = rate;
                }
            }
        }
        return rates;
    }

    private static double median(double[] values) {
        return io.asyncify4j.benchmarks.Benchmark.median(values.clone());
    }

    /** The median over rounds of {@code a[r] / b[r]}. */
    static double medianRatio(double[] a, double[] b) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i] / b[i];
        }
        return median(r);
    }

    /** {@code Executors.newVirtualThreadPerTaskExecutor()} on JDK 21+ (this module is built for 17), else null. */
    public static java.util.concurrent.ExecutorService virtualThreadExecutor() {
        try {
            return (java.util.concurrent.ExecutorService) java.util.concurrent.Executors.class
                    .getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }

    /** The PING module asyncified on an {@link AsyncInstance} (default executor), its ping an async import. */
    public static RoundTripVariant asyncifyVariant(Engine engine, int depth) {
        Completer completer = new Completer();
        AsyncInstance guest = AsyncInstance.builderFromWat(PING)
                .withEngine(engine)
                .withAsyncImport(new AsyncImport("env", "ping", FunctionType.of(List.of(), List.of(ValType.I32)),
                        (inst, args) -> completer.next()))
                .build();
        return new RoundTripVariant() {
            @Override
            public double run(int n) throws Exception {
                long start = System.nanoTime();
                long[] r = guest.call("loop", n, depth).get();
                return rate(n, r, System.nanoTime() - start);
            }

            @Override
            public void close() {
                guest.close();
                completer.close();
            }
        };
    }

    /**
     * The plain module, its host function blocking until the completer completes the future: on the
     * calling platform thread ({@code threads} null), or on a virtual thread of {@code threads}.
     */
    public static RoundTripVariant blockingVariant(Engine engine, int depth, java.util.concurrent.ExecutorService threads) {
        Completer completer = new Completer();
        HostFunction ping = new HostFunction("env", "ping", FunctionType.of(List.of(), List.of(ValType.I32)),
                (inst, args) -> completer.next().join()); // the guest's thread blocks until completion
        Instance instance = Engines.builder(Engines.parse(Wat2Wasm.parse(PING)),
                ImportValues.builder().addFunction(ping).build(), engine.kind()).build();
        var loop = instance.export("loop");
        return new RoundTripVariant() {
            @Override
            public double run(int n) {
                long start = System.nanoTime();
                long[] r = threads == null ? loop.apply(n, depth)
                        : CompletableFuture.supplyAsync(() -> loop.apply(n, depth), threads).join();
                return rate(n, r, System.nanoTime() - start);
            }

            @Override
            public void close() {
                completer.close();
            }
        };
    }

    private static double rate(int n, long[] result, long nanos) {
        if (result[0] != n) {
            throw new IllegalStateException("wrong result " + result[0]);
        }
        return n / (nanos / 1e9);
    }

    /**
     * Instance creation: time per {@code InstancePre.instantiate()} (+ {@code close()}) of the small PING
     * module, made ({@code AsyncModule}: validation, transform, compilation) and linked once, and heap per live
     * instance, on each engine. The first rounds warm the JIT up; the last is reported.
     */
    public void instanceCreation(int instances) throws Exception {
        out.printf(Locale.ROOT, "== instance creation (small module, prepared once; %,d instances) ==%n", instances);
        out.printf(Locale.ROOT, "%-12s %16s %20s%n", "engine", "us/instance", "heap bytes/instance");
        byte[] wasm = Wat2Wasm.parse(PING);
        AsyncImport ping = new AsyncImport("env", "ping", FunctionType.of(List.of(), List.of(ValType.I32)),
                (inst, args) -> CompletableFuture.completedFuture(new long[] {1}));
        for (Engine engine : runnableEngines()) {
            InstancePre pre = Linker.builder().withAsyncImport(ping).build()
                    .instantiatePre(AsyncModule.builder(wasm).withAsyncImports("env.ping").withEngine(engine).build());
            double micros = 0;
            for (int round = 0; round < 4; round++) {
                long start = System.nanoTime();
                for (int i = 0; i < instances; i++) {
                    pre.instantiate().close();
                }
                micros = (System.nanoTime() - start) / 1e3 / instances;
            }
            List<AsyncInstance> live = new ArrayList<>();
            long before = usedHeap();
            for (int i = 0; i < instances; i++) {
                live.add(pre.instantiate());
            }
            long bytes = (usedHeap() - before) / instances;
            live.forEach(AsyncInstance::close);
            out.printf(Locale.ROOT, "%-12s %16.1f %20d%n", engine.name().toLowerCase(Locale.ROOT), micros, bytes);
        }
        noteSkippedCompiler();
    }

    /** Heap and asyncify-stack bytes per suspended call, with 10,000 calls suspended on one instance. */
    public void memoryPerSuspendedCall(int calls, int depth) throws Exception {
        out.printf(Locale.ROOT, "== memory held by %,d suspended calls (depth %d, one instance, interpreter) ==%n", calls, depth);
        List<CompletableFuture<long[]>> pending = new ArrayList<>();
        try (AsyncInstance guest = AsyncInstance.builderFromWat(PING)
                .withInterleavedCalls() // all suspended at once (calls run one at a time by default)
                .withAsyncImport(new AsyncImport("env", "ping", FunctionType.of(List.of(), List.of(ValType.I32)),
                        (inst, args) -> {
                            CompletableFuture<long[]> f = new CompletableFuture<>();
                            synchronized (pending) {
                                pending.add(f);
                            }
                            return f;
                        }))
                .build()) {
            long heapBefore = usedHeap();
            List<CompletableFuture<long[]>> results = new ArrayList<>();
            for (int i = 0; i < calls; i++) {
                results.add(guest.call("loop", 1, depth));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (guest.suspendedCalls() < calls && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            long heapAfter = usedHeap();
            long stackBytes = guest.suspendedStackBytes();
            out.printf(Locale.ROOT, "suspended calls: %,d; asyncify stack: %,d bytes/call; Java heap (incl. stacks, futures): %,d bytes/call%n",
                    guest.suspendedCalls(), stackBytes / calls, (heapAfter - heapBefore) / calls);
            synchronized (pending) {
                pending.forEach(f -> f.complete(new long[] {1}));
            }
            for (CompletableFuture<long[]> r : results) {
                r.get(120, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * Heap held per suspended call against a virtual thread parked in the same call: {@code calls} calls
     * of the PING module's {@code loop(1, depth)}, each waiting in {@code env.ping} for a future nobody
     * completes yet, at depth 1, 10 and 100, on each engine. asyncify4j twice: all calls interleaved on
     * one instance (its suspended stacks, coroutine records and futures), and one instance per call (the
     * instance built first and measured apart, so the figure is what suspending adds: saved stack, record,
     * futures, and the asyncify data memory the first suspension allocates). The virtual threads need one
     * plain instance each (an Endive instance runs one call at a time), also built first and measured
     * apart; what a parked virtual thread then holds is its stack (the interpreter's Java frames for
     * every wasm frame) and its future. Heap is measured after garbage collection (see {@link #usedHeap()}).
     */
    public void memoryAgainstVirtualThreads(int calls) throws Exception {
        java.util.concurrent.ExecutorService virtualThreads = virtualThreadExecutor();
        out.printf(Locale.ROOT, "== heap per suspended call, %,d calls suspended at once (bytes per call; instance: its own"
                + " heap, measured apart) ==%n", calls);
        out.printf(Locale.ROOT, "%-6s %-12s %14s %16s %12s %14s %12s %10s %10s%n", "depth", "engine", "one instance",
                "instance/call", "(instance)", "vthread", "(instance)", "vt/one", "vt/per");
        byte[] wasm = Wat2Wasm.parse(PING);
        try {
            for (int depth : new int[] {1, 10, 100}) {
                for (Engine engine : runnableEngines()) {
                    long interleaved = suspendedOnOneInstance(wasm, engine, calls, depth);
                    long[] perInstance = suspendedOnInstancesOfTheirOwn(wasm, engine, calls, depth);
                    long[] parked = virtualThreads == null ? new long[] {-1, -1}
                            : parkedVirtualThreads(wasm, engine, calls, depth, virtualThreads);
                    out.printf(Locale.ROOT, "%-6d %-12s %14d %16d %12d %14d %12d %10.1f %10.1f%n", depth,
                            engine.name().toLowerCase(Locale.ROOT), interleaved, perInstance[0], perInstance[1],
                            parked[0], parked[1], (double) parked[0] / interleaved, (double) parked[0] / perInstance[0]);
                }
            }
        } finally {
            if (virtualThreads != null) {
                virtualThreads.shutdown();
            }
        }
        if (virtualThreads == null) {
            out.println("(virtual-thread baseline: needs JDK 21+, this is JDK " + Runtime.version().feature() + ")");
        }
    }

    /** Futures handed out by an import, completed on demand. */
    private static final class Pending {
        private final List<CompletableFuture<long[]>> futures = new ArrayList<>();

        synchronized CompletableFuture<long[]> next() {
            CompletableFuture<long[]> f = new CompletableFuture<>();
            futures.add(f);
            return f;
        }

        synchronized int size() {
            return futures.size();
        }

        synchronized void completeAll() {
            futures.forEach(f -> f.complete(new long[] {1}));
            futures.clear();
        }

        void awaitSize(int n) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
            while (size() < n) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("only " + size() + " of " + n + " calls got to wait");
                }
                Thread.sleep(10);
            }
        }
    }

    private static AsyncImport pingImport(Pending pending) {
        return new AsyncImport("env", "ping", FunctionType.of(List.of(), List.of(ValType.I32)), (inst, args) -> pending.next());
    }

    /** Bytes per call with {@code calls} calls suspended on one instance (interleaved). */
    private static long suspendedOnOneInstance(byte[] wasm, Engine engine, int calls, int depth) throws Exception {
        Pending pending = new Pending();
        try (AsyncInstance guest = AsyncInstance.builder(wasm).withEngine(engine).withInterleavedCalls()
                .withAsyncImport(pingImport(pending)).build()) {
            long before = usedHeap();
            List<CompletableFuture<long[]>> results = new ArrayList<>();
            for (int i = 0; i < calls; i++) {
                results.add(guest.call("loop", 1, depth));
            }
            pending.awaitSize(calls);
            awaitSuspended(guest, calls);
            long bytes = (usedHeap() - before) / calls;
            pending.completeAll();
            for (CompletableFuture<long[]> r : results) {
                r.get(300, TimeUnit.SECONDS);
            }
            return bytes;
        }
    }

    private static void awaitSuspended(AsyncInstance guest, int calls) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (guest.suspendedCalls() < calls && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    /** {bytes per suspended call, bytes per instance} with one call suspended on each of {@code calls} instances. */
    private static long[] suspendedOnInstancesOfTheirOwn(byte[] wasm, Engine engine, int calls, int depth) throws Exception {
        Pending pending = new Pending();
        List<AsyncInstance> guests = new ArrayList<>();
        // One module (validated, transformed, compiled once) and its link, as the virtual threads share one parsed module.
        InstancePre pre = Linker.builder().withAsyncImport(pingImport(pending)).build()
                .instantiatePre(AsyncModule.builder(wasm).withEngine(engine).withAsyncImports("env.ping").build());
        long before = usedHeap();
        try {
            for (int i = 0; i < calls; i++) {
                guests.add(pre.builder().build());
            }
            long idle = usedHeap();
            List<CompletableFuture<long[]>> results = new ArrayList<>();
            for (AsyncInstance g : guests) {
                results.add(g.call("loop", 1, depth));
            }
            pending.awaitSize(calls);
            for (AsyncInstance g : guests) {
                awaitSuspended(g, 1);
            }
            long suspended = usedHeap();
            pending.completeAll();
            for (CompletableFuture<long[]> r : results) {
                r.get(300, TimeUnit.SECONDS);
            }
            return new long[] {(suspended - idle) / calls, (idle - before) / calls};
        } finally {
            guests.forEach(AsyncInstance::close);
        }
    }

    /**
     * {bytes per parked virtual thread, bytes per instance}: {@code calls} virtual threads, each calling the
     * plain module on an instance of its own, its host function blocked on a future.
     */
    private static long[] parkedVirtualThreads(byte[] wasm, Engine engine, int calls, int depth,
            java.util.concurrent.ExecutorService threads) throws Exception {
        Pending pending = new Pending();
        HostFunction ping = new HostFunction("env", "ping", FunctionType.of(List.of(), List.of(ValType.I32)),
                (inst, args) -> pending.next().join());
        run.endive.wasm.WasmModule module = Engines.parse(wasm);
        long before = usedHeap();
        List<run.endive.runtime.ExportFunction> loops = new ArrayList<>();
        for (int i = 0; i < calls; i++) {
            loops.add(Engines.builder(module, ImportValues.builder().addFunction(ping).build(), engine.kind())
                    .build().export("loop"));
        }
        long idle = usedHeap();
        List<java.util.concurrent.Future<long[]>> results = new ArrayList<>();
        for (run.endive.runtime.ExportFunction loop : loops) {
            results.add(threads.submit(() -> loop.apply(1, depth)));
        }
        pending.awaitSize(calls);
        Thread.sleep(100); // the last ones park
        long parked = usedHeap();
        pending.completeAll();
        for (java.util.concurrent.Future<long[]> r : results) {
            r.get(300, TimeUnit.SECONDS);
        }
        return new long[] {(parked - idle) / calls, (idle - before) / calls};
    }

    private static long usedHeap() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** Time from one guest leaving the worker (preempted) to the next guest running, one worker. */
    public void preemptionLatency(long quantum, int switches) throws Exception {
        out.printf(Locale.ROOT, "== preemption latency: 2 CPU-bound guests, 1 worker, quantum %,d ==%n", quantum);
        long[] leftAt = new long[1];
        List<Long> latencies = new ArrayList<>();
        SuspensionListener timing = new SuspensionListener() {
            @Override
            public void suspended(String export, String asyncImport) {
                leftAt[0] = System.nanoTime();
            }

            @Override
            public void resumed(String export, String asyncImport) {
                if (leftAt[0] != 0 && latencies.size() < switches) {
                    latencies.add(System.nanoTime() - leftAt[0]);
                }
            }
        };
        try (Scheduler scheduler = Scheduler.builder().withWorkers(1).withQuantum(quantum).build()) {
            AsyncInstance a = scheduler.guest(AsyncInstance.builderFromWat(SPIN).withListener(timing)).build();
            AsyncInstance b = scheduler.guest(AsyncInstance.builderFromWat(SPIN).withListener(timing)).build();
            CompletableFuture<long[]> ca = a.call("spin");
            CompletableFuture<long[]> cb = b.call("spin");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (latencies.size() < switches && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            ca.cancel(true);
            cb.cancel(true);
            long[] sorted = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
            out.printf(Locale.ROOT, "switches measured: %d; median %.1f us, p90 %.1f us, p99 %.1f us (guest A unwound and moved out -> guest B rewound and running)%n",
                    sorted.length, sorted[sorted.length / 2] / 1e3, sorted[(int) (sorted.length * 0.9)] / 1e3,
                    sorted[(int) (sorted.length * 0.99)] / 1e3);
            GuestMetrics m = a.metrics();
            out.printf(Locale.ROOT, "guest A: %,d slices, %,d fuel, %.0f fuel units per ms of guest time%n",
                    m.slices(), m.fuelUsed(), m.fuelUsed() / (m.runNanos() / 1e6));
        }
    }

    /** Slice shares of many CPU-bound guests on two workers. */
    public void fairness(int guests, long quantum, int seconds) throws Exception {
        out.printf(Locale.ROOT, "== fairness: %,d CPU-bound guests, 2 workers, quantum %,d, %d s ==%n", guests, quantum, seconds);
        try (Scheduler scheduler = Scheduler.builder().withWorkers(2).withQuantum(quantum).build()) {
            List<AsyncInstance> all = new ArrayList<>();
            List<CompletableFuture<long[]>> calls = new ArrayList<>();
            InstancePre spin = Linker.builder().build().instantiatePre(AsyncModule.builderFromWat(SPIN).build());
            for (int i = 0; i < guests; i++) {
                AsyncInstance g = scheduler.guest(spin.builder()).build();
                all.add(g);
                calls.add(g.call("spin"));
            }
            long[] before = all.stream().mapToLong(g -> g.metrics().slices()).toArray();
            Thread.sleep(seconds * 1000L);
            long[] share = new long[guests];
            for (int i = 0; i < guests; i++) {
                share[i] = all.get(i).metrics().slices() - before[i];
            }
            calls.forEach(c -> c.cancel(true));
            double mean = Arrays.stream(share).average().orElse(0);
            long min = Arrays.stream(share).min().orElse(0);
            long max = Arrays.stream(share).max().orElse(0);
            double sd = Math.sqrt(Arrays.stream(share).mapToDouble(s -> (s - mean) * (s - mean)).sum() / guests);
            out.printf(Locale.ROOT, "slices per guest: mean %.1f, min %d (%.1f%% of mean), max %d (%.1f%% of mean), stddev %.2f%n",
                    mean, min, 100 * min / mean, max, 100 * max / mean, sd);
        }
    }

    /**
     * Fuel metering overhead on a WASI workload, interpreter: plain; metered with the default quantum on
     * the default executor (slice ends do not suspend: the instrumentation's cost); metered on a
     * one-worker {@link Scheduler}, preempted (unwound, requeued, rewound) at every slice end, with the
     * default quantum and with a ten times smaller one. The times are of running the guest; loading it is
     * timed apart (a metered guest finds its module transformed and parsed in the cache after the first
     * run, as a scheduler's guests do). Every variant runs in {@code forks} JVMs of its
     * own, in turn ({@link FuelRun}: variants sharing a JVM share the interpreter's JIT profile, which
     * moves their times by up to 20% either way); each reports the median of {@code iterations} runs
     * after {@link #FUEL_WARMUP} warmup runs, and the figure is the median over the forks; the fastest
     * run of each variant (over all its JVMs) gives a second ratio, less moved by JIT luck. Outputs must
     * all be equal.
     */
    public void fuelOverhead(java.nio.file.Path workload, int iterations, int forks) throws Exception {
        long quantum = AsyncInstance.DEFAULT_QUANTUM;
        String[] variants = {"plain", "metered", "preempted", "preempted"};
        long[] quanta = {quantum, quantum, quantum, quantum / 10};
        long[][] medians = new long[variants.length][forks];
        long[] best = new long[variants.length];
        Arrays.fill(best, Long.MAX_VALUE);
        long[] preemptions = new long[variants.length];
        long[][] loads = new long[variants.length][forks];
        java.util.Set<String> outputs = new java.util.TreeSet<>();
        for (int f = 0; f < forks; f++) {
            for (int v = 0; v < variants.length; v++) {
                String[] result = fork(workload, variants[v], iterations, quanta[v]);
                medians[v][f] = Long.parseLong(result[1]);
                best[v] = Math.min(best[v], Long.parseLong(result[2]));
                preemptions[v] = Long.parseLong(result[3]);
                outputs.add(result[5]);
                loads[v][f] = Long.parseLong(result[6]);
            }
        }
        if (outputs.size() != 1) {
            throw new IllegalStateException("metered output differs from plain for " + workload);
        }
        double plain = median(medians[0]);
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-16s plain %7.1f ms", workload.getFileName(),
                plain / 1e6));
        for (int v = 1; v < variants.length; v++) {
            double m = median(medians[v]);
            double lo = Double.MAX_VALUE;
            double hi = 0;
            for (int f = 0; f < forks; f++) {
                double r = (double) medians[v][f] / medians[0][f];
                lo = Math.min(lo, r);
                hi = Math.max(hi, r);
            }
            line.append(String.format(Locale.ROOT, " | %s%s %7.1f ms (%.2fx; JVMs %.2f-%.2f; best runs %.2fx)",
                    variants[v], v >= 2 ? String.format(Locale.ROOT, " at %,d, %,d times", quanta[v], preemptions[v]) : "",
                    m / 1e6, m / plain, lo, hi, (double) best[v] / best[0]));
        }
        out.println(line);
        out.printf(Locale.ROOT, "%-16s loading, not in the times above (median): plain %.1f ms (parse, instantiate), metered"
                + " %.1f ms (transform and parse cached per module, instantiate)%n", "", median(loads[0]) / 1e6,
                median(loads[1]) / 1e6);
        InstructionCounts.Counts counts = InstructionCounts.of(java.nio.file.Files.readAllBytes(workload), quantum);
        out.printf(Locale.ROOT, "%-16s interpreted instructions: plain %,d, metered %,d (%.3fx), preempted every %,d units"
                + " %,d (%.3fx; %,d preemptions, %,d instructions each); fuel %,d units (%.1f per plain instruction)%n", "",
                counts.plain(), counts.metered(), (double) counts.metered() / counts.plain(), counts.quantum(),
                counts.preempted(), (double) counts.preempted() / counts.plain(), counts.preemptions(),
                (counts.preempted() - counts.metered()) / Math.max(1, counts.preemptions()), counts.fuelUnits(),
                (double) counts.fuelUnits() / counts.plain());
    }

    private static double median(long[] values) {
        return io.asyncify4j.benchmarks.Benchmark.median(Arrays.stream(values).asDoubleStream().toArray());
    }

    /**
     * Warmup runs per JVM: the interpreter's dispatch loop is recompiled several times over the first
     * runs (a metered fannkuch took 1,211, 1,062 and 741 ms for its first three runs, then 650-680).
     */
    private static final int FUEL_WARMUP = 4;

    /** Runs {@link FuelRun} in a JVM of its own; returns its RESULT line split on spaces. */
    private static String[] fork(java.nio.file.Path workload, String variant, int rounds, long quantum) throws Exception {
        String javaBin = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = List.of(javaBin, "-Xss64m", "-Xmx4g", "-cp", System.getProperty("java.class.path"),
                FuelRun.class.getName(), workload.toString(), variant, Integer.toString(FUEL_WARMUP),
                Integer.toString(rounds), Long.toString(quantum));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String stdout = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        int exit = p.waitFor();
        for (String l : stdout.split("\\R")) {
            if (l.startsWith("RESULT ")) {
                return l.split(" ");
            }
        }
        throw new IllegalStateException("benchmark fork " + variant + " of " + workload + " failed (exit " + exit
                + "): " + stdout);
    }
}
