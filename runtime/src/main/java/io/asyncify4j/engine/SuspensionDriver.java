package io.asyncify4j.engine;

import java.util.function.Supplier;
import run.endive.runtime.CallResult;
import run.endive.runtime.ExportFunction;
import run.endive.runtime.GlobalInstance;
import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportFunction;
import run.endive.runtime.ImportGlobal;
import run.endive.runtime.Instance;
import run.endive.runtime.Memory;
import run.endive.runtime.WasmFunctionHandle;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.MutabilityType;
import run.endive.wasm.types.ValType;
import io.asyncify4j.asyncify.AsyncifyAbi;
import java.util.List;

/**
 * Runs asyncified instances that import one shared state global ({@code asyncify4j.state}, see
 * {@link io.asyncify4j.asyncify.AsyncifyOptions#importState()}) and resumes every suspension at once:
 * when a host import decides to suspend, the guest unwinds to {@link #call}, which stops the unwind,
 * starts a rewind and calls the export again until it returns normally. Each instance keeps its own
 * asyncify stack in its own data memory; only the state is shared, so a suspension unwinds through
 * calls between instances too.
 *
 * <p>It is the synchronous core of the host runtime, used by the spec harness's asyncify and chaos
 * modes to check that suspending anywhere changes no result. Not thread-safe: one driver per thread.
 */
public final class SuspensionDriver {
    private static final boolean SWAPPED_HALVES = Engines.swapsV128HalvesOnLocalSet();

    private final GlobalInstance state =
            new GlobalInstance(0, 0, ValType.I32, MutabilityType.Var);
    private final SuspendPolicy policy;
    private final GlobalInstance fuel = new GlobalInstance(0, 0, ValType.I64, MutabilityType.Var);
    private long quantum;
    private long preemptions;
    private long suspensions;
    private int depth;

    public SuspensionDriver(SuspendPolicy policy) {
        this.policy = policy;
    }

    /** The shared state global, to add to every instance's imports. */
    public ImportGlobal stateImport() {
        return new ImportGlobal(AsyncifyAbi.STATE_IMPORT_MODULE, AsyncifyAbi.STATE_IMPORT_NAME, state);
    }

    /**
     * For metered modules: the fuel global ({@code asyncify4j.fuel}) and the import a guest calls when
     * it is out of fuel, which refills {@code quantum} units and preempts the guest (unwinds it to the
     * host and rewinds it) when the driver's policy says so.
     */
    public ImportGlobal fuelImport(long quantum) {
        fuel.setValue(quantum);
        this.quantum = quantum;
        return new ImportGlobal(AsyncifyAbi.SUSPEND_MODULE, AsyncifyAbi.FUEL_IMPORT, fuel);
    }

    public HostFunction fuelExhausted() {
        return new HostFunction(AsyncifyAbi.SUSPEND_MODULE, AsyncifyAbi.FUEL_EXHAUSTED_IMPORT,
                FunctionType.of(List.of(), List.of()), new Suspending((inst, args) -> {
                    fuel.setValue(quantum);
                    preemptions++;
                    return null;
                }, 0, policy));
    }

    /** Times a metered guest ran out of fuel. */
    public long preemptions() {
        return preemptions;
    }

    /** The import behind injected suspension points ({@code asyncify4j.suspend_point}). */
    public HostFunction suspendPoint() {
        return new HostFunction(AsyncifyAbi.SUSPEND_MODULE, AsyncifyAbi.SUSPEND_IMPORT,
                FunctionType.of(List.of(), List.of()), new Suspending((inst, args) -> null, 0, policy));
    }

    /**
     * The imports through which the transform saves and restores v128 values when the engine has no
     * SIMD ({@link io.asyncify4j.asyncify.AsyncifyOptions#v128ViaHost()}); they access the calling
     * instance's data memory.
     */
    public static List<HostFunction> v128Imports() {
        return List.of(
                new HostFunction(AsyncifyAbi.SUSPEND_MODULE, AsyncifyAbi.V128_STORE_IMPORT,
                        FunctionType.of(List.of(ValType.I32, ValType.V128), List.of()), (inst, args) -> {
                            Memory data = inst.exports().memory(AsyncifyAbi.DATA_MEMORY_EXPORT);
                            data.writeLong((int) args[0], args[1]);
                            data.writeLong((int) args[0] + 8, args[2]);
                            return null;
                        }),
                new HostFunction(AsyncifyAbi.SUSPEND_MODULE, AsyncifyAbi.V128_LOAD_IMPORT,
                        FunctionType.of(List.of(ValType.I32), List.of(ValType.V128)), (inst, args) -> {
                            Memory data = inst.exports().memory(AsyncifyAbi.DATA_MEMORY_EXPORT);
                            // Halves returned opposite to how the store import got them where the
                            // interpreter swaps a v128's halves on local.set (Endive 1.0.x,
                            // EngineLimitationsTest); ValueTypesTest pins that values come back unchanged.
                            long low = data.readLong((int) args[0]);
                            long high = data.readLong((int) args[0] + 8);
                            return SWAPPED_HALVES ? new long[] {high, low} : new long[] {low, high};
                        }));
    }

    /** A host import that runs {@code delegate} and then may suspend the guest, per the policy. */
    public ImportFunction suspending(ImportFunction delegate) {
        return new ImportFunction(delegate.module(), delegate.name(), delegate.functionType(),
                new Suspending(delegate.handle(), References.slots(delegate.returnTypes()), policy));
    }

    /** The number of suspensions performed so far. */
    public long suspensions() {
        return suspensions;
    }

    public int state() {
        return (int) state.getValue();
    }

    /** Calls an export, resuming it after every suspension until it returns normally. */
    public long[] call(ExportFunction export, long... args) {
        boolean topLevel = depth++ == 0;
        if (topLevel) {
            policy.onTopLevelCall();
        }
        try {
            long[] result = export.apply(args);
            while (topLevel && state() == AsyncifyAbi.STATE_UNWINDING) {
                suspensions++;
                state.setValue(AsyncifyAbi.STATE_REWINDING); // stop the unwind, start the rewind
                result = export.apply(args);
            }
            return result;
        } catch (RuntimeException | Error e) {
            // A trap leaves no suspended frames to resume: back to normal for the next call.
            state.setValue(AsyncifyAbi.STATE_NORMAL);
            throw e;
        } finally {
            depth--;
        }
    }

    /** Calls an export in the handle view of {@link References} (the spec harness's values). */
    public long[] callWithHandles(Instance instance, String name, long[] args) {
        return call(References.exportWithHandles(instance, name), args);
    }

    /**
     * Runs a host function and may unwind the guest afterwards; on rewind returns the saved result.
     * Results are kept as the engine gave them, references as objects.
     */
    private final class Suspending implements WasmFunctionHandle {
        private final WasmFunctionHandle delegate;
        private final int resultSlots;
        private final SuspendPolicy when;
        private CallResult saved;
        private boolean suspendedHere;

        Suspending(WasmFunctionHandle delegate, int resultSlots, SuspendPolicy when) {
            this.delegate = delegate;
            this.resultSlots = resultSlots;
            this.when = when;
        }

        @Override
        public long[] apply(Instance instance, long... args) {
            return run(() -> CallResult.of(delegate.apply(instance, args), null)).longs();
        }

        @Override
        public CallResult applyWithRefs(Instance instance, long[] args, Object[] refs) {
            return run(() -> delegate.applyWithRefs(instance, args, refs));
        }

        private CallResult run(Supplier<CallResult> host) {
            if (state() == AsyncifyAbi.STATE_REWINDING && suspendedHere) {
                suspendedHere = false;
                state.setValue(AsyncifyAbi.STATE_NORMAL); // stop_rewind: the guest continues from here
                CallResult result = saved;
                saved = null;
                return result;
            }
            CallResult result = host.get();
            if (state() == AsyncifyAbi.STATE_NORMAL && when.shouldSuspend()) {
                saved = result;
                suspendedHere = true;
                state.setValue(AsyncifyAbi.STATE_UNWINDING);
                // placeholders, dropped by the unwinding guest (null references)
                return CallResult.of(resultSlots == 0 ? null : new long[resultSlots], null);
            }
            return result;
        }
    }
}
