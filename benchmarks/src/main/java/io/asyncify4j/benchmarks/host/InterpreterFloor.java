package io.asyncify4j.benchmarks.host;

import com.dylibso.chicory.wabt.Wat2Wasm;
import io.asyncify4j.asyncify.AsyncifyAbi;
import io.asyncify4j.benchmarks.Benchmark;
import io.asyncify4j.engine.Engines;
import io.asyncify4j.engine.SuspendPolicy;
import io.asyncify4j.engine.SuspensionDriver;
import io.asyncify4j.host.Engine;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import run.endive.runtime.ExportFunction;
import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportFunction;
import run.endive.runtime.ImportGlobal;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;

/**
 * How fast any asyncify transform could make a round trip on the interpreter engine: the guest's work
 * for the round-trip benchmark's guest ({@link HostBenchmarks#PING}) in three forms on the calling thread,
 * and two whole round trips, at depth 1, 10 and 100, in interleaved rounds of one JVM:
 * <ul>
 *   <li><b>plain</b>: the module as written, {@code ping} returning at once (no suspension): the guest's
 *       own work, CPU time per iteration;</li>
 *   <li><b>asyncify4j</b>: the module as {@code AsyncInstance} transforms it, every {@code ping}
 *       suspending, a {@link SuspensionDriver} rewinding at once: CPU time per round trip;</li>
 *   <li><b>minimal</b>: {@link #MINIMAL}, the same guest unwound and rewound by hand with the least
 *       any transform must do (every frame re-entered, the call index of {@code $at} and the live locals
 *       of {@code loop} saved and restored, nothing checked, no fuel metering): CPU time per round trip;</li>
 *   <li><b>asyncify4j, whole</b>: the whole round trip of {@link HostBenchmarks#roundTrips()}'s
 *       asyncify4j variant (an {@code AsyncInstance}, a completer thread completing each host future):
 *       wall time per round trip, the guest's work and the host's hand-off;</li>
 *   <li><b>virtual thread</b>: the plain module on a virtual thread whose {@code ping} blocks until a
 *       completer thread completes a future (as {@link HostBenchmarks#roundTrips()}): wall time per round
 *       trip, JDK 21+ only.</li>
 * </ul>
 * The minimal form's CPU time is a floor for any asyncify4j round trip on this engine (a round trip runs
 * at least that guest work, plus the host's hand-off): where it exceeds the virtual thread's whole round
 * trip, no transform can reach the virtual thread's rate.
 *
 * <pre>java -Xss64m -cp "benchmarks/target/classes:cli/target/asyncify4j-cli.jar" io.asyncify4j.benchmarks.host.InterpreterFloor</pre>
 */
public final class InterpreterFloor {
    private InterpreterFloor() {}

    /**
     * {@link HostBenchmarks#PING} unwound and rewound by hand, in the ABI {@code AsyncInstance}'s modules
     * use (the state imported, the saved stack in an exported data memory), but with the stack position in
     * a global of its own. {@code $at} saves one i32 per frame (which call it was in), {@code loop} its
     * three live locals; no check of any kind.
     */
    static final String MINIMAL = """
            (module
              (import "env" "ping" (func $ping (result i32)))
              (import "asyncify4j" "state" (global $state (mut i32)))
              (memory 1)
              (global $sp (mut i32) (i32.const 0))
              (func $at (param $d i32) (result i32)
                (block $u1
                  (block $u0
                    (if (global.get $state)
                      (then
                        (global.set $sp (i32.sub (global.get $sp) (i32.const 4)))
                        (if (i32.load (global.get $sp))
                          (then (call $at (i32.const 0)) (br_if $u1 (global.get $state)) (return))
                          (else (call $ping) (br_if $u0 (global.get $state)) (return)))))
                    (if (i32.eqz (local.get $d))
                      (then (call $ping) (br_if $u0 (global.get $state)) (return))
                      (else (call $at (i32.sub (local.get $d) (i32.const 1))) (br_if $u1 (global.get $state)) (return))))
                  (i32.store (global.get $sp) (i32.const 0))
                  (global.set $sp (i32.add (global.get $sp) (i32.const 4)))
                  (return (i32.const 0)))
                (i32.store (global.get $sp) (i32.const 1))
                (global.set $sp (i32.add (global.get $sp) (i32.const 4)))
                (i32.const 0))
              (func (export "loop") (param $n i32) (param $depth i32) (result i32) (local $acc i32) (local $r i32)
                (if (global.get $state)
                  (then
                    (global.set $sp (i32.sub (global.get $sp) (i32.const 12)))
                    (local.set $n (i32.load (global.get $sp)))
                    (local.set $depth (i32.load offset=4 (global.get $sp)))
                    (local.set $acc (i32.load offset=8 (global.get $sp)))))
                (block $u
                  (loop $l
                    (local.set $r (call $at (local.get $depth)))
                    (br_if $u (global.get $state))
                    (local.set $acc (i32.add (local.get $acc) (local.get $r)))
                    (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                    (br_if $l (local.get $n)))
                  (return (local.get $acc)))
                (i32.store (global.get $sp) (local.get $n))
                (i32.store offset=4 (global.get $sp) (local.get $depth))
                (i32.store offset=8 (global.get $sp) (local.get $acc))
                (global.set $sp (i32.add (global.get $sp) (i32.const 12)))
                (i32.const 0))
              (export "asyncify4j_data_memory" (memory 0)))
            """;

    public static void main(String[] args) throws Exception {
        ExecutorService virtualThreads = HostBenchmarks.virtualThreadExecutor();
        System.out.printf(Locale.ROOT, "== the interpreter's round trips, ns each: the guest's CPU time on one thread"
                + " (plain, asyncify4j, minimal), wall time of whole round trips (asyncify4j, virtual thread);"
                + " median of %d interleaved rounds after %d warm-up rounds ==%n",
                HostBenchmarks.ROUND_TRIP_ROUNDS, HostBenchmarks.ROUND_TRIP_WARMUP);
        System.out.printf(Locale.ROOT, "%-6s %10s %12s %10s %12s %12s %16s%n", "depth", "plain", "asyncify4j",
                "minimal", "(whole)", "vthread", "minimal/vthread");
        try {
            for (int depth : new int[] {1, 10, 100}) {
                int n = depth >= 100 ? 2_000 : 20_000;
                List<HostBenchmarks.RoundTripVariant> variants = new ArrayList<>();
                variants.add(sameThread(Wat2Wasm.parse(HostBenchmarks.PING), false, false, depth));
                variants.add(sameThread(RoundTripInstructions.transformedPing(Wat2Wasm.parse(HostBenchmarks.PING)),
                        true, true, depth));
                variants.add(sameThread(Wat2Wasm.parse(MINIMAL), true, false, depth));
                variants.add(HostBenchmarks.asyncifyVariant(Engine.INTERPRETER, depth));
                if (virtualThreads != null) {
                    variants.add(HostBenchmarks.blockingVariant(Engine.INTERPRETER, depth, virtualThreads));
                }
                double[][] rates = HostBenchmarks.interleavedRounds(variants, n);
                double[] ns = new double[rates.length];
                for (int k = 0; k < rates.length; k++) {
                    ns[k] = 1e9 / Benchmark.median(rates[k].clone()); // at the median rate
                    variants.get(k).close();
                }
                double virtual = virtualThreads == null ? Double.NaN : ns[4];
                System.out.printf(Locale.ROOT, "%-6d %10.0f %12.0f %10.0f %12.0f %12.0f %16.2f%n", depth, ns[0], ns[1],
                        ns[2], ns[3], virtual, ns[2] / virtual);
            }
        } finally {
            if (virtualThreads != null) {
                virtualThreads.shutdown();
            }
        }
        if (virtualThreads == null) {
            System.out.println("(virtual-thread baseline: needs JDK 21+, this is JDK " + Runtime.version().feature() + ")");
        }
    }

    /**
     * {@code wasm}'s {@code loop(n, depth)} on the interpreter, on the calling thread: with {@code suspending},
     * every {@code ping} unwinds and the driver rewinds at once ({@code transformed}: see {@link #guest}). Its
     * rate is per second of the thread's CPU time.
     */
    static HostBenchmarks.RoundTripVariant sameThread(byte[] wasm, boolean suspending, boolean transformed, int depth) {
        Guest guest = guest(wasm, suspending, transformed);
        ExportFunction loop = guest.instance().export("loop");
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        return new HostBenchmarks.RoundTripVariant() {
            @Override
            public double run(int n) {
                long before = guest.driver().suspensions();
                long start = threads.getCurrentThreadCpuTime();
                long[] r = suspending ? guest.driver().call(loop, n, depth) : loop.apply(n, depth);
                long used = threads.getCurrentThreadCpuTime() - start;
                long suspensions = guest.driver().suspensions() - before;
                if (r[0] != n || suspensions != (suspending ? n : 0)) {
                    throw new IllegalStateException("loop returned " + r[0] + " after " + suspensions + " suspensions");
                }
                return n / (used / 1e9);
            }

            @Override
            public void close() {}
        };
    }

    /** An interpreter instance and the driver of its suspensions. */
    record Guest(Instance instance, SuspensionDriver driver) {}

    /**
     * {@code wasm} on the interpreter: plain (its {@code ping} returns 1), or with {@code ping} suspending
     * under a {@link SuspensionDriver}. {@code transformed}: {@code wasm} is asyncify4j's transform of the
     * guest, which imports fuel and whose data memory starts empty.
     */
    static Guest guest(byte[] wasm, boolean suspending, boolean transformed) {
        SuspensionDriver driver = new SuspensionDriver(suspending ? SuspendPolicy.always() : SuspendPolicy.never());
        HostFunction ping = new HostFunction("env", "ping", FunctionType.of(List.of(), List.of(ValType.I32)),
                (inst, a) -> new long[] {1});
        ImportValues.Builder imports = ImportValues.builder();
        if (suspending) {
            List<ImportFunction> functions = new ArrayList<>();
            functions.add(driver.suspending(ping));
            imports.addGlobal(driver.stateImport());
            if (transformed) {
                ImportGlobal fuel = driver.fuelImport(Long.MAX_VALUE / 4);
                imports.addGlobal(fuel);
                functions.add(driver.fuelExhausted());
                functions.addAll(SuspensionDriver.v128Imports());
            }
            imports.withFunctions(functions);
        } else {
            imports.addFunction(ping);
        }
        Instance instance = Engines.builder(Engines.parse(wasm), imports.build(), Engines.Kind.INTERPRETER)
                .withStart(false).build();
        if (transformed) {
            // the transform's data memory starts empty; AsyncInstance grows it before a first unwind
            instance.exports().memory(AsyncifyAbi.DATA_MEMORY_EXPORT).grow(1);
        }
        return new Guest(instance, driver);
    }
}
