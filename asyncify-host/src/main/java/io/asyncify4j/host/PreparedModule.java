package io.asyncify4j.host;

import run.endive.wasm.WasmEngineException;
import run.endive.wasm.MalformedException;
import run.endive.wasm.WasmModule;
import io.asyncify4j.asyncify.Asyncify;
import io.asyncify4j.asyncify.AsyncifyAbi;
import io.asyncify4j.asyncify.AsyncifyException;
import io.asyncify4j.engine.Engines;
import io.asyncify4j.asyncify.AsyncifyOptions;
import io.asyncify4j.asyncify.ReservedImportException;
import io.asyncify4j.wasm.binary.MalformedModuleException;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.Export;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Import;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.typing.InvalidModuleException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * A module validated, limited and asyncified for a given set of options: what an {@link AsyncModule}
 * holds. Endive's parsed module is immutable and shared between instances.
 *
 * @param model the module as it runs (transformed, limits applied)
 * @param parsed Endive's parse of it
 * @param guestExports the function exports of the module as it was handed in: the only ones a host calls
 * @param exportTypes the type of every function export of the module as it runs
 * @param inputFunctionImports function imports of the module as it was handed in
 * @param id the module's name for logs: its name-section name, else the start of its SHA-256
 * @param shadowStackPointer the global a C-style shadow stack's pointer lives in, if the code keeps one
 *     ({@link ShadowStack#stackPointerGlobal}, found once here rather than per instance)
 * @param compiled its code compiled by the engine's compiler, made on first use and shared by instances
 * @param dataMemory the asyncify data memory's index among the module's own (defined) memories, or -1
 *     (a module asyncified ahead of time keeps its data in the guest's memory)
 */
record PreparedModule(ModuleModel model, WasmModule parsed, Set<String> guestExports,
                      Map<String, FuncType> exportTypes, int inputFunctionImports, String id,
                      java.util.OptionalInt shadowStackPointer, Compiled compiled, int dataMemory) {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PreparedModule.class);
    /** Validates, limits and asyncifies {@code input} (and meters it when {@code options} ask for fuel). */
    static PreparedModule of(byte[] input, AsyncifyOptions options, ResourceLimits limits) {
        return of(input, options, true, limits);
    }

    /**
     * Validates, limits and meters {@code input}, which was asyncified ahead of time (by Binaryen): it is
     * not transformed again, only given the fuel checks (see {@link Asyncify#meter}), which never unwind.
     */
    static PreparedModule ofAsyncified(byte[] input, AsyncifyOptions options, ResourceLimits limits) {
        return of(input, options, false, limits);
    }

    private static PreparedModule of(byte[] input, AsyncifyOptions options, boolean asyncify, ResourceLimits limits) {
        // Our decoder first: it refuses what is over the load limits (size, nesting) before the engine's
        // parser spends time on it; then the engine's validator.
        long startNanos = System.nanoTime();
        ModuleModel model = WasmCodec.decode(input, options.loadLimits());
        String id = model.names() != null && model.names().moduleName() != null ? model.names().moduleName()
                : "sha256:" + digest(input).substring(0, 12);
        validate(input);
        refuseReservedImports(model);
        int inputFunctionImports = model.importedFunctionCount();
        Set<String> exports = new LinkedHashSet<>();
        for (Export e : model.exports()) {
            if (e.kind() == ExternalKind.FUNCTION) {
                exports.add(e.name());
            }
        }
        limits.apply(model);
        String done = "metered";
        if (asyncify) {
            io.asyncify4j.asyncify.AsyncifyReport report = Asyncify.transform(model, options);
            done = "asyncified (" + report.instrumented().size() + " functions instrumented, "
                    + report.unwindingCallSites() + " call sites)";
        } else if (options.fuel()) {
            Asyncify.meter(model, options);
        }
        byte[] out = WasmCodec.encode(model);
        WasmModule parsed;
        try {
            parsed = Engines.parse(out);
        } catch (WasmEngineException e) {
            throw new AsyncifyException("the asyncified module does not validate (a transform bug): " + e.getMessage());
        }
        Map<String, FuncType> types = new HashMap<>();
        for (Export e : model.exports()) {
            if (e.kind() == ExternalKind.FUNCTION) {
                types.put(e.name(), model.functionType(e.index()));
            }
        }
        PreparedModule prepared = new PreparedModule(model, parsed, Set.copyOf(exports), Map.copyOf(types),
                inputFunctionImports, id, ShadowStack.stackPointerGlobal(model), new Compiled(), dataMemory(model));
        LOG.info("module {}: {} in {} ms: {} functions, {} bytes in, {} bytes out", id, done,
                (System.nanoTime() - startNanos) / 1_000_000, model.functionCount(), input.length, out.length);
        return prepared;
    }

    /** The defined-memory index of the memory exported as the asyncify data memory, or -1. */
    private static int dataMemory(ModuleModel model) {
        int data = -1;
        for (Export e : model.exports()) {
            if (e.kind() == ExternalKind.MEMORY && e.name().equals(io.asyncify4j.asyncify.AsyncifyAbi.DATA_MEMORY_EXPORT)) {
                data = e.index() - model.importCount(ExternalKind.MEMORY);
            }
        }
        return data;
    }

    /** The machine factory of the compiler engine for this module: compiled once, on first use. */
    java.util.function.Function<run.endive.runtime.Instance, run.endive.runtime.Machine> machineFactory() {
        return compiled.get(this);
    }

    /** The module's code compiled to JVM bytecode, made once (compiling takes 100s of ms) and reused. */
    static final class Compiled {
        private java.util.function.Function<run.endive.runtime.Instance, run.endive.runtime.Machine> factory;

        synchronized java.util.function.Function<run.endive.runtime.Instance, run.endive.runtime.Machine>
                get(PreparedModule module) {
            if (factory == null) {
                long start = System.nanoTime();
                factory = io.asyncify4j.engine.Engines.compile(module.parsed());
                LOG.debug("module {}: compiled in {} ms", module.id(), (System.nanoTime() - start) / 1_000_000);
            }
            return factory;
        }
    }

    /**
     * A function of the module as it runs, named as in the module handed in: by its name section, or by
     * its index there (the transform's own imports shift the indices of the defined functions).
     */
    String functionName(int index) {
        String name = model.functionDisplayName(index);
        int added = model.importedFunctionCount() - inputFunctionImports;
        if (name.startsWith("func[") && index >= model.importedFunctionCount()) {
            return "func[" + (index - added) + "]";
        }
        return name;
    }

    /** Every module is validated (by the engine) before anything else touches it. */
    private static void validate(byte[] input) {
        try {
            Engines.parse(input);
        } catch (MalformedException e) {
            throw new MalformedModuleException("malformed module: " + e.getMessage(), -1);
        } catch (WasmEngineException e) {
            throw new InvalidModuleException("invalid module: " + e.getMessage());
        } catch (RuntimeException e) {
            throw new InvalidModuleException("invalid module: the engine's parser failed with " + e);
        }
    }

    /**
     * The runtime's own import namespaces are the host's: a guest importing them could refill its fuel or
     * drive the asyncify state machine. Refused, whatever the host supplies.
     */
    static void refuseReservedImports(ModuleModel model) {
        for (Import imp : model.imports()) {
            if (isReserved(imp)) {
                throw new ReservedImportException(imp.toString(), "the import modules '" + AsyncifyAbi.SUSPEND_MODULE
                        + "' and '" + AsyncifyAbi.RUNTIME_MODULE + "' are reserved for the runtime");
            }
        }
    }

    /** Whether {@code imp} is in one of the runtime's own import namespaces. */
    static boolean isReserved(Import imp) {
        return imp.module().equals(AsyncifyAbi.SUSPEND_MODULE) || imp.module().equals(AsyncifyAbi.STATE_IMPORT_MODULE)
                || imp.module().equals(AsyncifyAbi.RUNTIME_MODULE);
    }

    private static String digest(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
