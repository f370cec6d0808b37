package io.asyncify4j.benchmarks.host;

import io.asyncify4j.engine.Engines;
import run.endive.runtime.ImportFunction;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.wasi.WasiExitException;
import run.endive.wasi.WasiOptions;
import run.endive.wasi.WasiPreview1;
import run.endive.wasm.WasmModule;
import io.asyncify4j.asyncify.Asyncify;
import io.asyncify4j.asyncify.AsyncifyAbi;
import io.asyncify4j.asyncify.AsyncifyOptions;
import io.asyncify4j.engine.SuspendPolicy;
import io.asyncify4j.engine.SuspensionDriver;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Counts the instructions Endive's interpreter executes for a WASI workload, plain and fuel-metered:
 * a deterministic measure of what metering adds, free of the JIT noise that moves run times.
 */
public final class InstructionCounts {
    /**
     * Instructions run by the plain and the metered module, the fuel the metered one used, and the
     * instructions it runs when preempted (unwound and rewound) every {@code quantum} units.
     */
    public record Counts(long plain, long metered, long fuelUnits, long quantum, long preempted, long preemptions) {}

    private InstructionCounts() {}

    /** Counts for {@code wasm}, preempted every {@code quantum} units in the preempted run. */
    public static Counts of(byte[] wasm, long quantum) {
        long plain = run(wasm, false, 0, SuspendPolicy.never(), null).instructions();
        byte[] metered = metered(wasm);
        Run unpreempted = run(metered, true, Long.MAX_VALUE / 2, SuspendPolicy.never(), null);
        Run preempted = run(metered, true, quantum, SuspendPolicy.always(), null);
        return new Counts(plain, unpreempted.instructions(), unpreempted.fuelUsed(), quantum, preempted.instructions(),
                preempted.preemptions());
    }

    /** {@code wasm} transformed with the options AsyncInstance uses for a metered guest without async imports. */
    static byte[] metered(byte[] wasm) {
        AsyncifyOptions options = io.asyncify4j.benchmarks.Benchmark.runtimeOptions().ignoreImports(true).fuel(true).build();
        return Asyncify.transform(wasm, options);
    }

    record Run(long instructions, long fuelUsed, long preemptions) {}

    /**
     * Runs {@code _start} counting instructions; a metered module gets {@code quantum} units per slice
     * and is preempted (unwound and rewound) at a slice end when {@code policy} says so; {@code listener},
     * when not null, also sees every instruction run.
     */
    static Run run(byte[] wasm, boolean metered, long quantum, SuspendPolicy policy,
            run.endive.runtime.ExecutionListener listener) {
        WasmModule module = Engines.parse(wasm);
        long[] executed = {0};
        try (WasiPreview1 wasi = WasiPreview1.builder()
                .withOptions(WasiOptions.builder().withStdout(new ByteArrayOutputStream()).build()).build()) {
            List<ImportFunction> functions = new ArrayList<>(Arrays.asList(wasi.toHostFunctions()));
            functions.add(FuelRun.tick());
            ImportValues.Builder imports = ImportValues.builder();
            SuspensionDriver driver = new SuspensionDriver(policy);
            var fuel = driver.fuelImport(quantum);
            if (metered) {
                functions.add(driver.fuelExhausted());
                functions.addAll(SuspensionDriver.v128Imports());
                imports.addGlobal(driver.stateImport()).addGlobal(fuel);
            }
            Instance instance = Engines.builder(module, imports.withFunctions(functions).build(), Engines.Kind.INTERPRETER)
                    .withStart(false)
                    .withUnsafeExecutionListener((instruction, stack) -> {
                        executed[0]++;
                        if (listener != null) {
                            listener.onExecution(instruction, stack);
                        }
                    })
                    .build();
            try {
                if (metered && hasExport(module, AsyncifyAbi.DEFERRED_START_EXPORT)) {
                    driver.call(instance.export(AsyncifyAbi.DEFERRED_START_EXPORT));
                }
                driver.call(instance.export("_start"));
            } catch (WasiExitException e) {
                // proc_exit ends the run
            }
            // Fuel used: the slices refilled so far, plus what the last one used.
            long used = driver.preemptions() * quantum + (quantum - fuel.instance().getValue());
            return new Run(executed[0], metered ? used : 0, driver.preemptions());
        }
    }

    private static boolean hasExport(WasmModule module, String name) {
        var exports = module.exportSection();
        for (int i = 0; i < exports.exportCount(); i++) {
            if (exports.getExport(i).name().equals(name)) {
                return true;
            }
        }
        return false;
    }
}
