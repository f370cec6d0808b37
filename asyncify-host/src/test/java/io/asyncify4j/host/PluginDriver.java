package io.asyncify4j.host;

import run.endive.runtime.ExportFunction;
import run.endive.runtime.GlobalInstance;
import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportFunction;
import run.endive.runtime.ImportGlobal;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.wasi.WasiOptions;
import run.endive.wasi.WasiPreview1;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.MutabilityType;
import run.endive.wasm.types.ValType;
import io.asyncify4j.asyncify.AsyncifyAbi;
import io.asyncify4j.asyncify.AsyncifyOptions;
import io.asyncify4j.engine.ModuleExports;
import io.asyncify4j.engine.SuspensionDriver;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Test driver: runs {@code handle(id)} of a plugin (plugins/plugin.c) as coroutines on one instance,
 * asyncified as AsyncInstance does it, and suspends every call at every {@code env.fetch}. The test
 * decides which suspended call resumes when, so interleavings are exact and repeatable, and does not
 * depend on AsyncInstance's scheduling. Optionally gives each call a shadow stack of its own through
 * {@link ShadowStack.PerCallStacks}.
 */
final class PluginDriver implements AutoCloseable {
    /** A call of handle(id): suspended at fetch(key), or done with its result. */
    static final class Call {
        final int id;
        int key = -1;
        SavedStack saved;
        ShadowStack.PerCallStacks.Stack stack;
        boolean done;
        long result;

        Call(int id) {
            this.id = id;
        }
    }

    private final GlobalInstance state = new GlobalInstance(0, 0, ValType.I32, MutabilityType.Var);
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private final WasiPreview1 wasi;
    private final Instance instance;
    private final AsyncifyController controller;
    private final ExportFunction handle;
    private final ShadowStack.PerCallStacks stacks;
    private final int stackPointerGlobal;
    private final io.asyncify4j.wasm.model.ModuleModel model;
    private long resumeValue;
    private int requestedKey;

    /** {@code stackBytes} > 0: a shadow stack per call, allocated with the guest's malloc. */
    PluginDriver(byte[] wasm, int stackBytes) {
        PreparedModule prepared = PreparedModule.of(wasm, AsyncifyOptions.builder()
                .unwindingImports(List.of("env.fetch"))
                .dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY)
                .secondaryMemoryPages(1, 16)
                .importState(true)
                .deferStart(true)
                .v128ViaHost(true)
                .build(), new ResourceLimits(65536, 1 << 20, Long.MAX_VALUE));
        wasi = WasiPreview1.builder().withOptions(WasiOptions.builder().withStdout(stdout).build()).build();
        List<ImportFunction> functions = new ArrayList<>(Arrays.asList(wasi.toHostFunctions()));
        functions.addAll(SuspensionDriver.v128Imports());
        functions.add(new HostFunction("env", "fetch", FunctionType.of(List.of(ValType.I32), List.of(ValType.I32)),
                (inst, args) -> {
                    if (controller().state() == AsyncifyAbi.STATE_REWINDING) {
                        controller().stopRewind();
                        return new long[] {resumeValue};
                    }
                    requestedKey = (int) args[0];
                    controller().startUnwind();
                    return new long[] {0};
                }));
        instance = Instance.builder(prepared.parsed())
                .withImportValues(ImportValues.builder()
                        .withFunctions(functions)
                        .withGlobals(List.of(new ImportGlobal(AsyncifyAbi.STATE_IMPORT_MODULE,
                                AsyncifyAbi.STATE_IMPORT_NAME, state)))
                        .build())
                .withStart(false)
                .build();
        controller = AsyncifyController.forOwnTransform(instance, state, List.of());
        if (ModuleExports.has(prepared.parsed(), AsyncifyAbi.DEFERRED_START_EXPORT)) {
            instance.export(AsyncifyAbi.DEFERRED_START_EXPORT).apply();
        }
        instance.export("_initialize").apply(); // a WASI reactor
        handle = instance.export("handle");
        model = prepared.model();
        stackPointerGlobal = ShadowStack.stackPointerGlobal(model).orElseThrow();
        stacks = stackBytes > 0
                ? ShadowStack.PerCallStacks.create(instance, prepared.model(), stackBytes, "malloc", "free")
                : null;
    }

    private AsyncifyController controller() {
        return controller;
    }

    /** The stack-pointer global's current value. */
    int stackPointer() {
        return (int) instance.global(stackPointerGlobal).getValue();
    }

    /** Calls handle(id); it returns suspended at its first fetch. */
    Call start(int id) {
        Call c = new Call(id);
        if (stacks != null) {
            c.stack = stacks.enter();
        }
        run(c);
        return c;
    }

    /** Resumes a suspended call with {@code fetch}'s value; it runs to its next fetch or its end. */
    void resume(Call c, int value) {
        if (c.done || c.saved == null) {
            throw new IllegalStateException("call handle(" + c.id + ") is not suspended");
        }
        if (stacks != null) {
            stacks.resume(c.stack);
        }
        controller.restoreStack(c.saved);
        c.saved = null;
        controller.startRewind();
        resumeValue = value;
        run(c);
    }

    private void run(Call c) {
        long[] r = handle.apply(c.id);
        if (controller.state() == AsyncifyAbi.STATE_UNWINDING) {
            controller.stopUnwind();
            c.saved = controller.takeStack();
            c.key = requestedKey;
            if (stacks != null) {
                stacks.suspend(c.stack);
            }
        } else {
            c.done = true;
            c.key = -1;
            c.result = r[0];
            if (stacks != null) {
                stacks.exit(c.stack);
            }
        }
    }

    String stdout() {
        return stdout.toString(StandardCharsets.UTF_8);
    }

    /** The per-call stacks, or null. */
    ShadowStack.PerCallStacks stacks() {
        return stacks;
    }

    /** The asyncified module the instance runs. */
    io.asyncify4j.wasm.model.ModuleModel model() {
        return model;
    }

    Instance instance() {
        return instance;
    }

    @Override
    public void close() {
        wasi.close();
    }
}
