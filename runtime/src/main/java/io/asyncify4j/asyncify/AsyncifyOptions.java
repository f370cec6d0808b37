package io.asyncify4j.asyncify;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the asyncify transform instruments and where it keeps its data. Mirrors Binaryen's
 * {@code --pass-arg=asyncify-*} options; build with {@link #builder()}.
 *
 * <p>Function lists take names from the name section (with or without a leading {@code $}) or
 * function indices; import lists take {@code module.name} patterns with {@code *} globs. Any list
 * entry of the form {@code @path} is replaced by the lines of that file.
 */
public final class AsyncifyOptions {
    /**
     * The engine the output is shaped for. Both run any output correctly; they differ in what is fast.
     */
    public enum Target {
        /**
         * An interpreter (Endive's), where every instruction costs a dispatch: fuel checks are
         * amortized by unrolling loops, and instrumented functions get a guard-free copy of their body.
         */
        INTERPRETER,
        /**
         * An engine that compiles each wasm function to a JVM method (Endive's compiler), which HotSpot
         * then compiles only while its bytecode stays under 8,000 bytes ({@code -XX:HugeMethodLimit}),
         * and into which it inlines small callees (every memory and global access is one) only up to
         * 8,000 bytes in all (HotSpot's {@code DesiredMethodLimit}): code size costs more than a few
         * instructions, so fuel checks do not unroll loops, and an instrumented function's resuming copy
         * (rewind prologue, guarded body) lives in a function of its own, called when a rewind enters
         * the function, so the function's method holds little more than its running copy.
         */
        COMPILER
    }

    /** Where the asyncify data structure and stack live. */
    public enum DataLocation {
        /** The module's memory 0, as Binaryen does: the host places the data inside guest memory. */
        MODULE_MEMORY,
        /** A memory added by the transform, which guest code never addresses. */
        SECONDARY_MEMORY
    }

    private final List<String> unwindingImports;
    private final boolean ignoreImports;
    private final boolean ignoreIndirect;
    private final List<String> onlyList;
    private final List<String> removeList;
    private final List<String> addList;
    private final boolean propagateAddList;
    private final boolean asserts;
    private final DataLocation dataLocation;
    private final int secondaryMemoryInitialPages;
    private final int secondaryMemoryMaxPages;
    private final boolean suspendAtFunctionEntriesAndLoops;
    private final boolean importState;
    private final boolean v128ViaHost;
    private final boolean fuel;
    private final boolean deferStart;
    private final boolean pureWasm;
    private final LoadLimits loadLimits;
    private final int copyBudget;
    private final Target target;

    private AsyncifyOptions(Builder b) {
        this.loadLimits = b.loadLimits;
        this.copyBudget = b.copyBudget;
        this.target = b.target;
        this.unwindingImports = b.unwindingImports == null ? null : expand(b.unwindingImports);
        this.ignoreImports = b.ignoreImports;
        this.ignoreIndirect = b.ignoreIndirect;
        this.onlyList = b.onlyList == null ? null : expand(b.onlyList);
        this.removeList = expand(b.removeList);
        this.addList = expand(b.addList);
        this.propagateAddList = b.propagateAddList;
        this.asserts = b.asserts;
        this.dataLocation = b.dataLocation;
        this.secondaryMemoryInitialPages = b.secondaryMemoryInitialPages;
        this.secondaryMemoryMaxPages = b.secondaryMemoryMaxPages;
        this.suspendAtFunctionEntriesAndLoops = b.suspendPoints;
        this.importState = b.importState;
        this.v128ViaHost = b.v128ViaHost;
        this.fuel = b.fuel;
        this.pureWasm = b.pureWasm;
        if (v128ViaHost && dataLocation != DataLocation.SECONDARY_MEMORY) {
            throw new AsyncifyException("conflicting options: saving v128 values through host imports needs the "
                    + "secondary data memory");
        }
        this.deferStart = b.deferStart;
        if (onlyList != null && (!removeList.isEmpty() || !addList.isEmpty())) {
            throw new AsyncifyException("conflicting options: the only-list cannot be combined with the "
                    + "remove-list or the add-list");
        }
        if (secondaryMemoryMaxPages < secondaryMemoryInitialPages) {
            throw new AsyncifyException("secondary memory maximum (" + secondaryMemoryMaxPages
                    + " pages) is below its initial size (" + secondaryMemoryInitialPages + " pages)");
        }
    }

    private static List<String> expand(List<String> entries) {
        List<String> out = new ArrayList<>();
        for (String e : entries) {
            String t = e.trim();
            if (t.isEmpty()) {
                continue;
            }
            if (t.startsWith("@")) {
                Path p = Path.of(t.substring(1));
                try {
                    for (String line : Files.readAllLines(p)) {
                        for (String part : line.split(",")) {
                            if (!part.isBlank()) {
                                out.add(part.trim());
                            }
                        }
                    }
                } catch (IOException ex) {
                    throw new AsyncifyException("cannot read list file " + p + ": " + ex.getMessage());
                }
            } else {
                out.add(t);
            }
        }
        return List.copyOf(out);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Defaults: every import may unwind, indirect calls may unwind, data in the module's memory. */
    public static AsyncifyOptions defaults() {
        return builder().build();
    }

    /** Import patterns that may unwind; null means every import. */
    public List<String> unwindingImports() {
        return unwindingImports;
    }

    public boolean ignoreImports() {
        return ignoreImports;
    }

    public boolean ignoreIndirect() {
        return ignoreIndirect;
    }

    /** Functions to instrument exactly, or null. */
    public List<String> onlyList() {
        return onlyList;
    }

    public List<String> removeList() {
        return removeList;
    }

    public List<String> addList() {
        return addList;
    }

    public boolean propagateAddList() {
        return propagateAddList;
    }

    public boolean asserts() {
        return asserts;
    }

    public DataLocation dataLocation() {
        return dataLocation;
    }

    public int secondaryMemoryInitialPages() {
        return secondaryMemoryInitialPages;
    }

    public int secondaryMemoryMaxPages() {
        return secondaryMemoryMaxPages;
    }

    /** Whether every function entry and loop header becomes a suspension point (chaos testing, preemption). */
    public boolean suspendAtFunctionEntriesAndLoops() {
        return suspendAtFunctionEntriesAndLoops;
    }

    /**
     * Whether the state global is imported ({@code asyncify4j.state}) instead of defined, so that
     * several instances share one state and a suspension unwinds through calls between them.
     */
    public boolean importState() {
        return importState;
    }

    /**
     * Whether the start function is removed from the start section and exported as
     * {@link AsyncifyAbi#DEFERRED_START_EXPORT}, so the host runs it like any export and it may suspend.
     */
    public boolean deferStart() {
        return deferStart;
    }

    /**
     * Whether v128 locals are saved and restored through the host imports
     * {@link AsyncifyAbi#V128_STORE_IMPORT} and {@link AsyncifyAbi#V128_LOAD_IMPORT} instead of
     * {@code v128.store}/{@code v128.load}: for engines without SIMD instructions (Endive 1.0.x's
     * interpreter), where a module can still pass v128 values around.
     */
    public boolean v128ViaHost() {
        return v128ViaHost;
    }

    /**
     * Whether the guest is metered: a fuel counter (the imported i64 global
     * {@link AsyncifyAbi#FUEL_IMPORT}, invisible to guest code) is decremented at every function entry
     * and loop header by the static cost of the code that runs until the next check; when it drops
     * below zero the guest calls the unwinding import {@link AsyncifyAbi#FUEL_EXHAUSTED_IMPORT}, where
     * the host may suspend it (preemption), refill it, or stop it.
     */
    public boolean fuel() {
        return fuel;
    }

    /**
     * Whether the module may import the asyncify runtime functions ({@code asyncify.start_unwind} and
     * the others of Binaryen's pure-wasm mode) to drive its own unwinding and rewinding. Off by default:
     * such an import is refused with {@link ReservedImportException}, as is any import of the
     * {@code asyncify4j} namespace (always: it is the host runtime's).
     */
    public boolean pureWasm() {
        return pureWasm;
    }

    /** The engine the output is shaped for (default {@link Target#INTERPRETER}). */
    public Target target() {
        return target;
    }

    /** Limits on the input and on the work the transform may do for it (see {@link LoadLimits}). */
    public LoadLimits loadLimits() {
        return loadLimits;
    }

    /**
     * Extra code (in instructions) each function may get for the copies made for speed (running copies
     * of split loops), beyond its guarded form; -1 (the default) means 1,024 plus 4 per instruction of
     * the function. Tests set 0 to check the guarded-only form.
     */
    int copyBudget() {
        return copyBudget;
    }

    /** Builder of {@link AsyncifyOptions}. */
    public static final class Builder {
        private List<String> unwindingImports;
        private boolean ignoreImports;
        private boolean ignoreIndirect;
        private List<String> onlyList;
        private List<String> removeList = List.of();
        private List<String> addList = List.of();
        private boolean propagateAddList;
        private boolean asserts;
        private DataLocation dataLocation = DataLocation.MODULE_MEMORY;
        private int secondaryMemoryInitialPages = 1;
        private int secondaryMemoryMaxPages = 16;
        private boolean suspendPoints;
        private boolean importState;
        private boolean deferStart;
        private boolean v128ViaHost;
        private boolean fuel;
        private boolean pureWasm;
        private LoadLimits loadLimits = LoadLimits.defaults();
        private int copyBudget = -1;
        private Target target = Target.INTERPRETER;

        private Builder() {}

        /** The engine to shape the output for (see {@link Target}). */
        public Builder target(Target target) {
            this.target = java.util.Objects.requireNonNull(target);
            return this;
        }

        /** Limits on the module and the transform's work (default {@link LoadLimits#defaults()}). */
        public Builder loadLimits(LoadLimits limits) {
            this.loadLimits = java.util.Objects.requireNonNull(limits);
            return this;
        }

        /** See {@link AsyncifyOptions#copyBudget()}; for tests. */
        Builder copyBudget(int instructions) {
            this.copyBudget = instructions;
            return this;
        }

        /** Import the state global from the host so instances share it (see {@link AsyncifyOptions#importState()}). */
        public Builder importState(boolean v) {
            this.importState = v;
            return this;
        }

        /** Let the module import the asyncify runtime itself (see {@link AsyncifyOptions#pureWasm()}). */
        public Builder pureWasm(boolean v) {
            this.pureWasm = v;
            return this;
        }

        /** Meter the guest with fuel (see {@link AsyncifyOptions#fuel()}). */
        public Builder fuel(boolean v) {
            this.fuel = v;
            return this;
        }

        /** Save v128 locals through host imports (see {@link AsyncifyOptions#v128ViaHost()}). */
        public Builder v128ViaHost(boolean v) {
            this.v128ViaHost = v;
            return this;
        }

        /** Export the start function instead of running it at instantiation (see {@link AsyncifyOptions#deferStart()}). */
        public Builder deferStart(boolean v) {
            this.deferStart = v;
            return this;
        }

        /** Only imports matching these {@code module.name} patterns ({@code *} globs, {@code @file}) may unwind. */
        public Builder unwindingImports(List<String> patterns) {
            this.unwindingImports = List.copyOf(patterns);
            return this;
        }

        /** No import may unwind (only the pure-wasm runtime functions change the state). */
        public Builder ignoreImports(boolean v) {
            this.ignoreImports = v;
            return this;
        }

        /** Indirect calls ({@code call_indirect}, {@code call_ref}) are assumed never to unwind. */
        public Builder ignoreIndirect(boolean v) {
            this.ignoreIndirect = v;
            return this;
        }

        /** Instrument exactly these functions. */
        public Builder onlyList(List<String> functions) {
            this.onlyList = List.copyOf(functions);
            return this;
        }

        /** Never instrument these functions (they are assumed not to unwind). */
        public Builder removeList(List<String> functions) {
            this.removeList = List.copyOf(functions);
            return this;
        }

        /** Always instrument these functions, as if they could unwind. */
        public Builder addList(List<String> functions) {
            this.addList = List.copyOf(functions);
            return this;
        }

        /** Callers of add-listed functions are instrumented too. */
        public Builder propagateAddList(boolean v) {
            this.propagateAddList = v;
            return this;
        }

        /** Functions left uninstrumented trap with a named fault if the state changes under them. */
        public Builder asserts(boolean v) {
            this.asserts = v;
            return this;
        }

        public Builder dataLocation(DataLocation location) {
            this.dataLocation = location;
            return this;
        }

        /** Size of the secondary data memory (64 KiB pages): initial, and the maximum it may grow to. */
        public Builder secondaryMemoryPages(int initial, int max) {
            this.secondaryMemoryInitialPages = initial;
            this.secondaryMemoryMaxPages = max;
            return this;
        }

        /** Make every function entry and loop header a suspension point (see {@link AsyncifyAbi#SUSPEND_IMPORT}). */
        public Builder suspendAtFunctionEntriesAndLoops(boolean v) {
            this.suspendPoints = v;
            return this;
        }

        public AsyncifyOptions build() {
            return new AsyncifyOptions(this);
        }
    }
}
