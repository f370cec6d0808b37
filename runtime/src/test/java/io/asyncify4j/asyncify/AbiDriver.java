package io.asyncify4j.asyncify;

import run.endive.runtime.ExportFunction;
import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportFunction;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.runtime.Memory;
import run.endive.wasm.WasmModule;
import io.asyncify4j.engine.SuspendPolicy;
import java.util.ArrayList;
import java.util.List;

/**
 * Drives a module transformed with the data in its own memory through Binaryen's ABI only, as
 * Emscripten's runtime does: a host import that decides to suspend writes the data structure
 * {@code {position, end}} at {@link #dataAddress} and calls {@code asyncify_start_unwind}; when the
 * export returns the host calls {@code asyncify_stop_unwind}, then {@code asyncify_start_rewind} and the
 * export again; the import, called again while rewinding, calls {@code asyncify_stop_rewind} and returns
 * the saved result.
 */
final class AbiDriver {
    final int dataAddress;
    final int stackEnd;
    final SuspendPolicy policy;
    final Guest.Host host = new Guest.Host();
    Instance instance;
    long suspensions;
    /** The most asyncify-stack bytes a suspension used (position - start after the unwind). */
    int maxStackUsed;
    private long[] saved;

    /** The stack runs from {@code dataAddress + 8} to {@code stackEnd}. */
    AbiDriver(int dataAddress, int stackEnd, SuspendPolicy policy) {
        this.dataAddress = dataAddress;
        this.stackEnd = stackEnd;
        this.policy = policy;
    }

    AbiDriver instantiate(byte[] transformed) {
        WasmModule module = Guest.parse(transformed);
        List<ImportFunction> functions = new ArrayList<>();
        for (ImportFunction f : host.functionsFor(module)) {
            functions.add(new HostFunction(f.module(), f.name(), f.functionType(), (inst, args) -> {
                if (state() == AsyncifyAbi.STATE_REWINDING) {
                    export(AsyncifyAbi.STOP_REWIND).apply();
                    long[] r = saved;
                    saved = null;
                    return r;
                }
                long[] r = f.handle().apply(inst, args);
                if (policy.shouldSuspend()) {
                    saved = r;
                    Memory mem = instance.memory(0);
                    mem.writeI32(dataAddress, dataAddress + 8);
                    mem.writeI32(dataAddress + 4, stackEnd);
                    export(AsyncifyAbi.START_UNWIND).apply(dataAddress);
                    return r == null ? null : new long[r.length];
                }
                return r;
            }));
        }
        instance = Instance.builder(module).withImportValues(ImportValues.builder().withFunctions(functions).build())
                .build();
        return this;
    }

    private ExportFunction export(String name) {
        return instance.export(name);
    }

    int state() {
        return (int) export(AsyncifyAbi.GET_STATE).apply()[0];
    }

    Guest.Run call(String name, long... args) {
        int before = host.log.size();
        long s = suspensions;
        var outcome = Guest.outcome(instance, name, () -> {
            long[] r = export(name).apply(args);
            while (state() == AsyncifyAbi.STATE_UNWINDING) {
                suspensions++;
                maxStackUsed = Math.max(maxStackUsed, instance.memory(0).readInt(dataAddress) - (dataAddress + 8));
                export(AsyncifyAbi.STOP_UNWIND).apply();
                export(AsyncifyAbi.START_REWIND).apply(dataAddress);
                r = export(name).apply(args);
            }
            return r;
        });
        return new Guest.Run(outcome, List.copyOf(host.log.subList(before, host.log.size())), suspensions - s);
    }

    int globalI32(String name) {
        return (int) instance.exports().global(name).getValue();
    }
}
