package io.asyncify4j.spectest;

import io.asyncify4j.engine.EngineErrors;
import io.asyncify4j.engine.Engines;
import io.asyncify4j.engine.ModuleExports;
import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportFunction;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.wasm.WasmModule;
import io.asyncify4j.asyncify.Asyncify;
import io.asyncify4j.asyncify.AsyncifyAbi;
import io.asyncify4j.asyncify.AsyncifyOptions;
import io.asyncify4j.engine.SuspendPolicy;
import io.asyncify4j.engine.SuspensionDriver;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The asyncify and chaos modes: every module is asyncified for the worst case (every import and every
 * indirect call may unwind, so every function that can reach one is instrumented) and driven by a
 * {@link SuspensionDriver}. In chaos mode every function entry and loop header also becomes a
 * suspension point, and host imports and suspension points suspend the guest per a seeded policy;
 * every suspension unwinds to the host and is resumed at once. Results must equal plain mode.
 */
final class AsyncifyPipeline implements ModePipeline {
    private final SuspensionDriver driver;
    private final AsyncifyOptions options;

    private final long fuelQuantum;

    /**
     * @param chaos suspension points at function entries and loop headers, suspended per a seeded policy
     * @param fuelQuantum when positive, meter the guest and preempt it every {@code fuelQuantum} units
     */
    AsyncifyPipeline(boolean chaos, long seed, long fuelQuantum) {
        this.fuelQuantum = fuelQuantum;
        // Preempting every quantum of a deep recursion costs time quadratic in its depth, so metered
        // runs preempt at fewer first points than chaos suspends at.
        this.driver = new SuspensionDriver(chaos ? SuspendPolicy.chaos(seed, 1000, 1.0)
                : fuelQuantum > 0 ? SuspendPolicy.chaos(seed, 100, 1.0) : SuspendPolicy.never());
        this.options = AsyncifyOptions.builder()
                .dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY)
                .secondaryMemoryPages(1, 16384)
                .importState(true)
                .deferStart(true)
                .v128ViaHost(!Engines.interpreterRunsSimd()) // Endive 1.0.x's interpreter has no v128.load/store
                .suspendAtFunctionEntriesAndLoops(chaos)
                .fuel(fuelQuantum > 0)
                .build();
    }

    @Override
    public byte[] prepare(byte[] wasm) {
        return Asyncify.transform(wasm, options);
    }

    @Override
    public Instance instantiate(WasmModule module, ImportValues imports) {
        List<ImportFunction> functions = new ArrayList<>();
        for (ImportFunction f : imports.functions()) {
            // Host functions become suspension points; functions of other instances share the state.
            functions.add(f instanceof HostFunction ? driver.suspending(f) : f);
        }
        functions.add(driver.suspendPoint());
        functions.addAll(SuspensionDriver.v128Imports());
        List<run.endive.runtime.ImportGlobal> globals = withState(imports);
        if (fuelQuantum > 0) {
            functions.add(driver.fuelExhausted());
            globals.add(driver.fuelImport(fuelQuantum));
        }
        ImportValues withAsyncify = ImportValues.builder()
                .withFunctions(functions)
                .withGlobals(globals)
                .withMemories(Arrays.asList(imports.memories()))
                .withTables(Arrays.asList(imports.tables()))
                .withTags(Arrays.asList(imports.tags()))
                .build();
        Instance instance = Engines.instantiate(module, withAsyncify);
        if (ModuleExports.has(module, AsyncifyAbi.DEFERRED_START_EXPORT)) {
            try {
                driver.call(instance.export(AsyncifyAbi.DEFERRED_START_EXPORT));
            } catch (RuntimeException e) {
                throw EngineErrors.asStartFunctionFailure(e); // as the engine reports it during instantiation
            }
        }
        return instance;
    }


    private List<run.endive.runtime.ImportGlobal> withState(ImportValues imports) {
        List<run.endive.runtime.ImportGlobal> globals = new ArrayList<>(Arrays.asList(imports.globals()));
        globals.add(driver.stateImport());
        return globals;
    }

    @Override
    public long[] invoke(Instance instance, String export, long[] args) {
        return driver.callWithHandles(instance, export, args);
    }

    @Override
    public long suspensions() {
        return driver.suspensions();
    }

    /** Times a metered guest used up its quantum and was preempted. */
    long preemptions() {
        return driver.preemptions();
    }
}
