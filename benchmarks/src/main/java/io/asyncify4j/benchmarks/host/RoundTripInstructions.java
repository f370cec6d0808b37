package io.asyncify4j.benchmarks.host;

import com.dylibso.chicory.wabt.Wat2Wasm;
import io.asyncify4j.asyncify.Asyncify;
import io.asyncify4j.asyncify.AsyncifyOptions;
import io.asyncify4j.engine.Engines;
import io.asyncify4j.engine.SuspendPolicy;
import io.asyncify4j.engine.SuspensionDriver;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import run.endive.runtime.GlobalInstance;
import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportFunction;
import run.endive.runtime.ImportGlobal;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;

/**
 * Interpreted instructions per round trip of the round-trip benchmark's guest ({@link HostBenchmarks#PING},
 * transformed with the options {@code AsyncInstance} uses for it), split by asyncify state: a deterministic
 * measure of what unwinding and rewinding cost the interpreter, free of the scheduling noise that moves
 * the timed figures. Every {@code ping} suspends (a {@link SuspensionDriver} unwinds and rewinds at once);
 * the same loop without suspending is counted too.
 *
 * <pre>java -cp "benchmarks/target/classes:cli/target/asyncify4j-cli.jar" io.asyncify4j.benchmarks.host.RoundTripInstructions</pre>
 */
public final class RoundTripInstructions {
    private RoundTripInstructions() {}

    public static void main(String[] args) {
        int n = 1000;
        System.out.printf(Locale.ROOT, "%-6s %16s %14s %12s %12s %12s%n", "depth", "not suspending", "suspending",
                "normal", "unwinding", "rewinding");
        for (int depth : new int[] {1, 10, 100}) {
            long[] plain = count(n, depth, false);
            long[] suspending = count(n, depth, true);
            System.out.printf(Locale.ROOT, "%-6d %16.1f %14.1f %12.1f %12.1f %12.1f%n", depth, (double) plain[0] / n,
                    (double) (suspending[0] + suspending[1] + suspending[2]) / n, (double) suspending[0] / n,
                    (double) suspending[1] / n, (double) suspending[2] / n);
        }
    }

    /** The PING module asyncified with the options {@code AsyncInstance} uses for it (one async import, metered). */
    static byte[] transformedPing(byte[] plain) {
        return Asyncify.transform(plain, AsyncifyOptions.builder()
                .unwindingImports(List.of("env.ping"))
                .dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY)
                .secondaryMemoryPages(0, 257)
                .importState(true)
                .deferStart(true)
                .v128ViaHost(true)
                .fuel(true)
                .build());
    }

    /** Instructions run by {@code loop(n, depth)} in normal, unwinding and rewinding state. */
    public static long[] count(int n, int depth, boolean suspend) {
        byte[] wasm = transformedPing(Wat2Wasm.parse(HostBenchmarks.PING));
        SuspensionDriver driver = new SuspensionDriver(suspend ? SuspendPolicy.always() : SuspendPolicy.never());
        ImportGlobal fuel = driver.fuelImport(Long.MAX_VALUE / 4);
        ImportGlobal state = driver.stateImport();
        GlobalInstance stateValue = state.instance();
        List<ImportFunction> functions = new ArrayList<>();
        functions.add(driver.suspending(new HostFunction("env", "ping", FunctionType.of(List.of(), List.of(ValType.I32)),
                (inst, a) -> new long[] {1})));
        functions.add(driver.fuelExhausted());
        functions.addAll(SuspensionDriver.v128Imports());
        long[] byState = new long[3];
        Instance instance = Engines.builder(Engines.parse(wasm),
                        ImportValues.builder().addGlobal(state).addGlobal(fuel).withFunctions(functions).build(),
                        Engines.Kind.INTERPRETER)
                .withStart(false)
                .withUnsafeExecutionListener((instruction, stack) -> byState[(int) stateValue.getValue()]++)
                .build();
        instance.exports().memory(io.asyncify4j.asyncify.AsyncifyAbi.DATA_MEMORY_EXPORT).grow(1); // as AsyncInstance does
        long[] r = driver.call(instance.export("loop"), n, depth);
        if (r[0] != n || driver.suspensions() != (suspend ? n : 0)) {
            throw new IllegalStateException("loop returned " + r[0] + " after " + driver.suspensions() + " suspensions");
        }
        return byState;
    }
}
