package io.asyncify4j.host;

import io.asyncify4j.engine.EngineTypes;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Import;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import run.endive.runtime.ImportFunction;
import run.endive.runtime.ImportGlobal;
import run.endive.runtime.ImportMemory;
import run.endive.runtime.ImportTable;
import run.endive.runtime.ImportTag;
import run.endive.runtime.ImportValue;
import run.endive.runtime.ImportValues;
import run.endive.wasi.WasiOptions;
import run.endive.wasi.WasiPreview1;
import run.endive.wasm.UnlinkableException;
import run.endive.wasm.types.FunctionType;

/**
 * What a guest's imports are linked to: async imports, ordinary host functions, globals, memories,
 * tables and tags (Endive's own types, singly or as {@link ImportValues}), and WASI preview 1. Immutable
 * and thread-safe once built; one linker serves any number of modules. Host functions, globals, memories
 * and tables are shared by every instance linked with it (as with Endive's {@code ImportValues}); WASI
 * gets a fresh state (its open files) per instance.
 *
 * <p>{@link #instantiatePre} checks a module's imports against it once, giving an {@link InstancePre}
 * from which instances are made without checking again.
 */
public final class Linker {
    private final List<AsyncImport> asyncImports;
    private final List<ImportFunction> functions;
    private final List<ImportGlobal> globals;
    private final List<ImportMemory> memories;
    private final List<ImportTable> tables;
    private final List<ImportTag> tags;
    private final WasiOptions wasi;

    private Linker(Builder b) {
        this.asyncImports = List.copyOf(b.asyncImports);
        this.functions = List.copyOf(b.functions);
        this.globals = List.copyOf(b.globals);
        this.memories = List.copyOf(b.memories);
        this.tables = List.copyOf(b.tables);
        this.tags = List.copyOf(b.tags);
        this.wasi = b.wasi;
    }

    /** A builder of an empty linker. */
    public static Builder builder() {
        return new Builder();
    }

    /** The async imports it links. */
    public List<AsyncImport> asyncImports() {
        return asyncImports;
    }

    List<ImportFunction> functions() {
        return functions;
    }

    List<ImportGlobal> globals() {
        return globals;
    }

    List<ImportMemory> memories() {
        return memories;
    }

    List<ImportTable> tables() {
        return tables;
    }

    List<ImportTag> tags() {
        return tags;
    }

    WasiOptions wasi() {
        return wasi;
    }

    /**
     * Checks that this linker satisfies every import of {@code module}, once: each is defined, a function
     * with the import's type, and an async import only where the module was built to suspend
     * ({@link AsyncModule.Builder#withAsyncImports}) and always there. Definitions the module does not
     * import are ignored.
     *
     * @throws UnlinkableException naming the first import that does not link, and why
     */
    public InstancePre instantiatePre(AsyncModule module) {
        Objects.requireNonNull(module, "module");
        // A name may be defined more than once (one definition per type of a module importing it twice).
        Map<String, List<ImportValue>> defined = new HashMap<>();
        Map<String, AsyncImport> async = new HashMap<>();
        for (AsyncImport a : asyncImports) {
            async.put(a.module() + "." + a.name(), a);
        }
        List<ImportValue> all = new ArrayList<>();
        all.addAll(functions);
        if (wasi != null) {
            all.addAll(WasiFunctions.ALL);
        }
        all.addAll(globals);
        all.addAll(memories);
        all.addAll(tables);
        all.addAll(tags);
        for (ImportValue v : all) {
            defined.computeIfAbsent(v.module() + "." + v.name() + "/" + v.type(), k -> new ArrayList<>()).add(v);
        }
        for (Import imp : module.guestImports()) {
            String name = imp.module() + "." + imp.name();
            if (imp.kind() == ExternalKind.FUNCTION) {
                checkFunction(module, imp, name, async.get(name),
                        defined.getOrDefault(name + "/" + ImportValue.Type.FUNCTION, List.of()));
            } else if (!defined.containsKey(name + "/" + kind(imp.kind()))) {
                throw new UnlinkableException("module " + module.id() + ": unknown import " + name + " ("
                        + imp.kind().name().toLowerCase(java.util.Locale.ROOT) + "): the linker defines no such "
                        + kind(imp.kind()).name().toLowerCase(java.util.Locale.ROOT));
            }
        }
        return new InstancePre(module, this);
    }

    private static void checkFunction(AsyncModule module, Import imp, String name, AsyncImport async,
                                      List<ImportValue> sync) {
        FuncType type = module.functionType(imp);
        boolean declared = module.asyncImports().contains(name);
        if (async != null) {
            if (!declared && !module.alreadyAsyncified()) {
                throw new UnlinkableException("module " + module.id() + ": " + name + " is linked as an async import "
                        + "but the module was built without it, so the guest cannot suspend there; declare it with "
                        + "AsyncModule.builder(...).withAsyncImports(\"" + name + "\")");
            }
            requireType(module, name, type, async.type(), "async import");
            return;
        }
        if (declared) {
            throw new UnlinkableException("module " + module.id() + ": " + name + " was declared async when the "
                    + "module was built, but the linker " + (sync.isEmpty() ? "defines nothing for it" : "links it to an "
                    + "ordinary host function") + "; link an AsyncImport");
        }
        if (sync.isEmpty()) {
            throw new UnlinkableException("module " + module.id() + ": unknown import " + name + " (function " + type
                    + "): the linker defines no such function");
        }
        UnlinkableException mismatch = null;
        for (ImportValue v : sync) {
            try {
                requireType(module, name, type, ((ImportFunction) v).functionType(), "host function");
                return; // one definition of the right type
            } catch (UnlinkableException e) {
                mismatch = e;
            }
        }
        throw mismatch;
    }

    private static void requireType(AsyncModule module, String name, FuncType expected, FunctionType given, String what) {
        List<run.endive.wasm.types.ValType> params = EngineTypes.of(expected.params());
        List<run.endive.wasm.types.ValType> results = EngineTypes.of(expected.results());
        if (params == null || results == null) {
            return; // typed references: the engine checks them when it instantiates
        }
        if (!FunctionType.of(params, results).equals(given)) {
            throw new UnlinkableException("module " + module.id() + ": incompatible import type for " + name
                    + ": the module imports " + expected + ", the " + what + " has " + given.params() + " -> "
                    + given.returns());
        }
    }

    private static ImportValue.Type kind(ExternalKind kind) {
        switch (kind) {
            case FUNCTION: return ImportValue.Type.FUNCTION;
            case GLOBAL: return ImportValue.Type.GLOBAL;
            case MEMORY: return ImportValue.Type.MEMORY;
            case TABLE: return ImportValue.Type.TABLE;
            default: return ImportValue.Type.TAG;
        }
    }

    /** WASI's functions, for their names and types (the same whatever the options). */
    private static final class WasiFunctions {
        static final List<ImportFunction> ALL = probe();

        private static List<ImportFunction> probe() {
            // default options: no stream or directory of the host's is touched, nor closed
            try (WasiPreview1 probe = WasiPreview1.builder().withOptions(WasiOptions.builder().build()).build()) {
                return List.of(probe.toHostFunctions());
            }
        }
    }

    /** Builder of {@link Linker}. */
    public static final class Builder {
        private final List<AsyncImport> asyncImports = new ArrayList<>();
        private final List<ImportFunction> functions = new ArrayList<>();
        private final List<ImportGlobal> globals = new ArrayList<>();
        private final List<ImportMemory> memories = new ArrayList<>();
        private final List<ImportTable> tables = new ArrayList<>();
        private final List<ImportTag> tags = new ArrayList<>();
        private WasiOptions wasi;

        private Builder() {}

        /** An import completing asynchronously; the module must declare it ({@link AsyncModule.Builder#withAsyncImports}). */
        public Builder withAsyncImport(AsyncImport asyncImport) {
            asyncImports.add(Objects.requireNonNull(asyncImport));
            return this;
        }

        /** An ordinary (synchronous) Endive host function. */
        public Builder withHostFunction(ImportFunction function) {
            functions.add(Objects.requireNonNull(function));
            return this;
        }

        /** A global, shared by every instance linked with it. */
        public Builder withGlobal(ImportGlobal global) {
            globals.add(Objects.requireNonNull(global));
            return this;
        }

        /** A memory, shared by every instance linked with it. */
        public Builder withMemory(ImportMemory memory) {
            memories.add(Objects.requireNonNull(memory));
            return this;
        }

        /** A table, shared by every instance linked with it. */
        public Builder withTable(ImportTable table) {
            tables.add(Objects.requireNonNull(table));
            return this;
        }

        /** Everything in Endive's {@code ImportValues} (functions, globals, memories, tables, tags). */
        public Builder withImportValues(ImportValues values) {
            functions.addAll(Arrays.asList(values.functions()));
            globals.addAll(Arrays.asList(values.globals()));
            memories.addAll(Arrays.asList(values.memories()));
            tables.addAll(Arrays.asList(values.tables()));
            tags.addAll(Arrays.asList(values.tags()));
            return this;
        }

        /** WASI preview 1 (Endive's implementation) with these options; each instance gets its own WASI state. */
        public Builder withWasi(WasiOptions options) {
            this.wasi = Objects.requireNonNull(options);
            return this;
        }

        public Linker build() {
            return new Linker(this);
        }
    }
}
