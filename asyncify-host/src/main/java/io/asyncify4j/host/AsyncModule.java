package io.asyncify4j.host;

import io.asyncify4j.asyncify.AsyncifyOptions;
import io.asyncify4j.asyncify.LoadLimits;
import io.asyncify4j.engine.Engines;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Import;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import run.endive.runtime.Instance;
import run.endive.runtime.Machine;

/**
 * A module ready to instantiate: decoded, validated, limited, asyncified (and metered), and on the
 * compiler engine compiled, once, when it is built. Immutable and thread-safe: make it once and create
 * any number of instances from it, on any thread, through a {@link Linker}. (The one-shot
 * {@link AsyncInstance#builder(byte[])} makes a module per instance.)
 *
 * <pre>{@code
 * AsyncModule module = AsyncModule.builder(Path.of("plugin.wasm"))
 *         .withAsyncImports("env.sleep")          // the imports calls may suspend in
 *         .withEngine(Engine.COMPILER)            // compiled here, once
 *         .build();
 * Linker linker = Linker.builder()
 *         .withAsyncImport(AsyncImport.ofIntToVoid("env", "sleep", ms -> timer.sleep(ms)))
 *         .withWasi(WasiOptions.builder().build())
 *         .build();
 * InstancePre pre = linker.instantiatePre(module); // imports checked here, once
 * try (AsyncInstance guest = pre.instantiate()) {  // cheap: tens of microseconds
 *     guest.call("main");
 * }
 * }</pre>
 *
 * <p>What is fixed here, per module: which imports may suspend (the transform instruments the code that
 * can reach them), the engine, the memory and table caps (applied to the module's own maximums), the
 * largest saved stack and the load limits. What is fixed per link is in {@link Linker}; per instance
 * (fuel, deadlines, executor) in {@link AsyncInstance.Builder}.
 */
public final class AsyncModule {
    private final PreparedModule prepared;
    private final Engine engine;
    private final Function<Instance, Machine> machineFactory;
    private final Set<String> asyncImports;
    private final long maxAsyncifyStackBytes;
    private final DataRegion alreadyAsyncified;

    private AsyncModule(Builder b) {
        this.engine = b.engine;
        this.asyncImports = Set.copyOf(b.asyncImports);
        this.maxAsyncifyStackBytes = b.maxAsyncifyStackBytes;
        this.alreadyAsyncified = b.alreadyAsyncified;
        ResourceLimits limits = new ResourceLimits(b.maxMemoryPages, b.maxTableElements, b.maxGuestBytes);
        if (alreadyAsyncified == null) {
            AsyncifyOptions.Builder options = AsyncifyOptions.builder()
                    .unwindingImports(List.copyOf(asyncImports))
                    .dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY)
                    // empty except while a stack moves through it (AsyncifyDataMemory, AsyncifyController)
                    .secondaryMemoryPages(0, (int) Math.max(1, (maxAsyncifyStackBytes + 8 + 65535) / 65536))
                    .importState(true)
                    .deferStart(true)
                    .v128ViaHost(true)
                    .fuel(true)
                    .target(engine.target()) // the code's shape for the engine (Engine.target)
                    .loadLimits(b.loadLimits);
            if (asyncImports.isEmpty()) {
                options.ignoreImports(true);
            }
            this.prepared = PreparedModule.of(b.wasm, options.build(), limits);
        } else {
            this.prepared = PreparedModule.ofAsyncified(b.wasm, AsyncifyOptions.builder().fuel(true).deferStart(true)
                    .target(engine.target()).loadLimits(b.loadLimits).build(), limits);
        }
        if (b.machineFactory != null) {
            this.machineFactory = b.machineFactory;
        } else if (engine == Engine.COMPILER) {
            this.machineFactory = prepared.machineFactory(); // compiled now, shared by every instance
        } else {
            this.machineFactory = null;
        }
    }

    /** A builder for a module given as wasm bytes (copied). */
    public static Builder builder(byte[] wasm) {
        return new Builder(Objects.requireNonNull(wasm, "wasm").clone());
    }

    /** A builder for a {@code .wasm} or {@code .wat} file (the text format needs {@code com.dylibso.chicory:wabt}). */
    public static Builder builder(Path file) {
        return new Builder(read(file));
    }

    /**
     * A builder for a module in the wasm text format; needs {@code com.dylibso.chicory:wabt} on the class
     * path (the host does not depend on it), else fails with {@link IllegalStateException}.
     */
    public static Builder builderFromWat(String wat) {
        return new Builder(TextFormat.parse(wat));
    }

    static byte[] read(Path file) {
        try {
            if (file.getFileName().toString().endsWith(".wat")) {
                return TextFormat.parse(file.toFile());
            }
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** The module's name in logs and errors: its name-section name, else the start of its SHA-256. */
    public String id() {
        return prepared.id();
    }

    /**
     * The engine its code was shaped and, for the compiler, compiled for; a machine factory given with
     * {@link Builder#withMachineFactory} runs the instances instead.
     */
    public Engine engine() {
        return engine;
    }

    /** The imports (as {@code module.name}) whose calls may suspend, as declared when it was built. */
    public Set<String> asyncImports() {
        return asyncImports;
    }

    /** Whether it was asyncified ahead of time (Binaryen's {@code --asyncify}), not by this runtime. */
    public boolean alreadyAsyncified() {
        return alreadyAsyncified != null;
    }

    /** The names of the functions it exports, in order: the ones a host may call. */
    public Set<String> exports() {
        return prepared.guestExports();
    }

    /**
     * The imports of the module as it was handed in, in order, each as {@code module.name} with its kind
     * (the runtime's own imports, added by the transform, are not listed).
     */
    public Map<String, ExternalKind> imports() {
        Map<String, ExternalKind> out = new LinkedHashMap<>();
        for (Import imp : guestImports()) {
            out.put(imp.module() + "." + imp.name(), imp.kind());
        }
        return java.util.Collections.unmodifiableMap(out);
    }

    /** The guest's own imports (not the runtime's, which the transform added). */
    List<Import> guestImports() {
        List<Import> out = new ArrayList<>();
        for (Import imp : prepared.model().imports()) {
            if (!PreparedModule.isReserved(imp)) {
                out.add(imp);
            }
        }
        return out;
    }

    /** The type of function import {@code imp} of the module as it runs. */
    FuncType functionType(Import imp) {
        return prepared.model().funcType(imp.typeIndex());
    }

    PreparedModule prepared() {
        return prepared;
    }

    /** The machine factory instances run on, or null for Endive's interpreter. */
    Function<Instance, Machine> machineFactory() {
        return machineFactory;
    }

    long maxAsyncifyStackBytes() {
        return maxAsyncifyStackBytes;
    }

    DataRegion alreadyAsyncifiedRegion() {
        return alreadyAsyncified;
    }

    @Override
    public String toString() {
        return "AsyncModule[" + id() + ", " + engine.name().toLowerCase(java.util.Locale.ROOT)
                + (asyncImports.isEmpty() ? "" : ", async " + asyncImports) + "]";
    }

    /** Builder of {@link AsyncModule}; {@link #build()} does the work (it can take a while on large modules). */
    public static final class Builder {
        private final byte[] wasm;
        private final Set<String> asyncImports = new LinkedHashSet<>();
        private Engine engine = Engine.INTERPRETER;
        private Function<Instance, Machine> machineFactory;
        private long maxAsyncifyStackBytes = 16L << 20;
        private DataRegion alreadyAsyncified;
        private long maxMemoryPages = 65536;
        private long maxTableElements = 1 << 20;
        private long maxGuestBytes = Long.MAX_VALUE;
        private LoadLimits loadLimits = LoadLimits.defaults();

        private Builder(byte[] wasm) {
            this.wasm = wasm;
        }

        /**
         * Imports, each as {@code module.name} (e.g. {@code "env.sleep"}), whose calls may suspend: the
         * transform instruments exactly the code that can reach them. A {@link Linker} must link each one
         * the module imports to an {@link AsyncImport}; linking an {@code AsyncImport} to an import not
         * declared here is refused (the guest could not suspend there). None by default: calls then
         * suspend only when preempted.
         */
        public Builder withAsyncImports(String... imports) {
            for (String name : imports) {
                int dot = Objects.requireNonNull(name, "import").indexOf('.');
                if (dot <= 0 || dot == name.length() - 1) {
                    throw new IllegalArgumentException("an async import is named module.name: '" + name + "'");
                }
                asyncImports.add(name);
            }
            return this;
        }

        /** The imports of {@code asyncImports} ({@link AsyncImport#module()}{@code .}{@link AsyncImport#name()}). */
        public Builder withAsyncImports(java.util.Collection<AsyncImport> asyncImports) {
            for (AsyncImport imp : asyncImports) {
                this.asyncImports.add(imp.module() + "." + imp.name());
            }
            return this;
        }

        /** The engine (default {@link Engine#INTERPRETER}); on {@link Engine#COMPILER} the module is compiled by {@link #build()}. */
        public Builder withEngine(Engine engine) {
            this.engine = Objects.requireNonNull(engine);
            return this;
        }

        /**
         * The machine every instance runs on, as Endive's {@code Instance.Builder.withMachineFactory} takes it
         * (for instance a compiler's factory made elsewhere); it receives instances of the module as
         * transformed. Overrides {@link #withEngine}.
         */
        public Builder withMachineFactory(Function<Instance, Machine> factory) {
            this.machineFactory = Objects.requireNonNull(factory);
            return this;
        }

        /** The most asyncify stack one suspended call may use (default 16 MiB); beyond, the call fails. */
        public Builder withMaxAsyncifyStackBytes(long bytes) {
            if (bytes < 64) {
                throw new IllegalArgumentException("asyncify stack limit too small: " + bytes);
            }
            this.maxAsyncifyStackBytes = bytes;
            return this;
        }

        /**
         * The module was asyncified ahead of time by Binaryen's {@code wasm-opt --asyncify}: it is not
         * transformed again, and its asyncify data lives in {@code region} of its memory 0. It is still
         * metered, so budgets, deadlines, cancellation and {@code close()} stop its calls, but it is never
         * preempted at the end of a slice (its own asyncify cannot unwind from our fuel checks).
         */
        public Builder withAlreadyAsyncified(DataRegion region) {
            this.alreadyAsyncified = Objects.requireNonNull(region);
            return this;
        }

        /**
         * The most 64 KiB pages each memory of the guest (defined or imported) may have; growing beyond
         * fails as {@code memory.grow} does, and a module needing more at instantiation is refused with
         * {@link LimitExceededException}. Only ever lowers a module's own maximum. Default 65,536 (4 GiB).
         */
        public Builder withMaxMemoryPages(long pages) {
            this.maxMemoryPages = notNegative(pages, "memory page limit");
            return this;
        }

        /**
         * The most elements each table of the guest may have (growing beyond fails as {@code table.grow}
         * does; more at instantiation is refused). Only ever lowers a module's own maximum. Default 1,048,576.
         */
        public Builder withMaxTableElements(long elements) {
            this.maxTableElements = notNegative(elements, "table element limit");
            return this;
        }

        /**
         * The most bytes all the guest's memories and tables may reach together, counted at their maximum
         * sizes after {@link #withMaxMemoryPages} and {@link #withMaxTableElements} (8 bytes a table element): a
         * module that could grow past it is refused with {@link LimitExceededException}. Default: no limit
         * beyond the per-memory and per-table ones.
         */
        public Builder withMaxGuestBytes(long bytes) {
            this.maxGuestBytes = notNegative(bytes, "guest byte limit");
            return this;
        }

        /**
         * Limits on the module and on the work of loading it (module size, functions, locals per function,
         * nesting depth, instrumented code size); beyond one, {@link #build()} fails with
         * {@link io.asyncify4j.asyncify.LoadLimitExceededException}. Default {@code LoadLimits.defaults()}.
         */
        public Builder withLoadLimits(LoadLimits limits) {
            this.loadLimits = Objects.requireNonNull(limits);
            return this;
        }

        private static long notNegative(long value, String what) {
            if (value < 0) {
                throw new IllegalArgumentException(what + " must not be negative: " + value);
            }
            return value;
        }

        /**
         * Validates (invalid: {@link io.asyncify4j.wasm.typing.InvalidModuleException}; malformed:
         * {@link io.asyncify4j.wasm.binary.MalformedModuleException}), applies the limits, asyncifies
         * (unless asyncified already) and meters, and on the compiler compiles. A module importing the
         * runtime's own namespaces ({@code asyncify4j}, {@code asyncify}) is refused with
         * {@link io.asyncify4j.asyncify.ReservedImportException}.
         */
        public AsyncModule build() {
            return new AsyncModule(this);
        }
    }
}
