package io.asyncify4j.benchmarks.host;

import com.dylibso.chicory.wabt.Wat2Wasm;
import io.asyncify4j.asyncify.AsyncifyAbi;
import io.asyncify4j.engine.Engines;
import io.asyncify4j.engine.SuspendPolicy;
import io.asyncify4j.engine.SuspensionDriver;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportFunction;
import run.endive.runtime.ImportGlobal;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.wasm.WasmModule;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;

/**
 * The guest's side of a round trip, without threads: the round-trip benchmark's guest ({@link HostBenchmarks#PING},
 * transformed as {@link RoundTripInstructions} does) under a {@link SuspensionDriver} that suspends at every
 * {@code ping} and resumes at once on the calling thread. Reports the thread's CPU time per round trip,
 * median of 15 rounds after 5 warm-up rounds, on each engine: what unwinding and rewinding cost, which
 * other processes on a busy machine move far less than they move a wall-clock rate.
 *
 * <pre>java -Xss64m -cp "benchmarks/target/classes:cli/target/asyncify4j-cli.jar" io.asyncify4j.benchmarks.host.SameThreadRoundTrips</pre>
 */
public final class SameThreadRoundTrips {
    private SameThreadRoundTrips() {}

    public static void main(String[] args) {
        byte[] wasm = RoundTripInstructions.transformedPing(Wat2Wasm.parse(HostBenchmarks.PING));
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        System.out.printf(Locale.ROOT, "%-6s %-12s %16s%n", "depth", "engine", "cpu ns/round trip");
        for (int depth : new int[] {1, 10, 100}) {
            for (Engines.Kind kind : new Engines.Kind[] {Engines.Kind.INTERPRETER, Engines.Kind.COMPILER}) {
                if (kind == Engines.Kind.COMPILER && !Engines.compilerSupported()) {
                    continue;
                }
                SuspensionDriver driver = new SuspensionDriver(SuspendPolicy.always());
                ImportGlobal fuel = driver.fuelImport(Long.MAX_VALUE / 4);
                List<ImportFunction> functions = new ArrayList<>();
                functions.add(driver.suspending(new HostFunction("env", "ping",
                        FunctionType.of(List.of(), List.of(ValType.I32)), (inst, a) -> new long[] {1})));
                functions.add(driver.fuelExhausted());
                functions.addAll(SuspensionDriver.v128Imports());
                ImportValues imports = ImportValues.builder().addGlobal(driver.stateImport()).addGlobal(fuel)
                        .withFunctions(functions).build();
                WasmModule module = Engines.parse(wasm);
                Instance instance = (kind == Engines.Kind.INTERPRETER ? Engines.builder(module, imports, kind)
                        : Engines.builder(module, imports, Engines.compile(module))).withStart(false).build();
                instance.exports().memory(AsyncifyAbi.DATA_MEMORY_EXPORT).grow(1);
                var loop = instance.export("loop");
                int n = depth >= 100 ? 2_000 : 20_000;
                double[] perRoundTrip = new double[15];
                for (int round = -5; round < perRoundTrip.length; round++) {
                    long start = threads.getCurrentThreadCpuTime();
                    driver.call(loop, n, depth);
                    long used = threads.getCurrentThreadCpuTime() - start;
                    if (round >= 0) {
                        perRoundTrip[round] = (double) used / n;
                    }
                }
                Arrays.sort(perRoundTrip);
                System.out.printf(Locale.ROOT, "%-6d %-12s %16.0f%n", depth, kind.name().toLowerCase(Locale.ROOT),
                        perRoundTrip[perRoundTrip.length / 2]);
            }
        }
    }
}
