package io.asyncify4j.host;

import io.asyncify4j.chicory.ModuleExports;
import com.dylibso.chicory.compiler.MachineFactoryCompiler;
import com.dylibso.chicory.runtime.GlobalInstance;
import com.dylibso.chicory.runtime.HostFunction;
import com.dylibso.chicory.runtime.ImportFunction;
import com.dylibso.chicory.runtime.ImportGlobal;
import com.dylibso.chicory.runtime.ImportMemory;
import com.dylibso.chicory.runtime.ImportTable;
import com.dylibso.chicory.runtime.ImportValues;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.wabt.Wat2Wasm;
import com.dylibso.chicory.wasi.WasiOptions;
import com.dylibso.chicory.wasi.WasiPreview1;
import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import com.dylibso.chicory.wasm.types.MutabilityType;
import com.dylibso.chicory.wasm.types.ValType;
import io.asyncify4j.asyncify.Asyncify;
import io.asyncify4j.asyncify.AsyncifyAbi;
import io.asyncify4j.asyncify.AsyncifyOptions;
import io.asyncify4j.chicory.SuspensionDriver;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.ModuleModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A wasm instance whose exports are called asynchronously: a guest that calls an async import
 * ({@link AsyncImport}) is suspended — its call stack unwound and moved out of the instance — until
 * the import's future completes, then rewound and resumed. No thread is held while a guest is
 * suspended. Several calls may be in flight on one instance (coroutines), each with its own stack; the
 * instance is only ever entered by one thread at a time.
 *
 * <pre>{@code
 * try (AsyncInstance guest = AsyncInstance.builder(Path.of("plugin.wasm"))
 *         .withAsyncImport(AsyncImport.ofIntToVoid("env", "sleep", ms ->
 *                 CompletableFuture.runAsync(() -> {}, CompletableFuture.delayedExecutor(ms, MILLISECONDS))))
 *         .build()) {
 *     CompletableFuture<long[]> result = guest.call("main");
 * }
 * }</pre>
 *
 * <p>Failures: a guest trap fails the call's future with Chicory's exception; a failing host future
 * fails the call's future with that cause and abandons the suspended guest (it is not resumed); an
 * asyncify stack overflow fails it with {@link AsyncifyStackOverflowException}; {@code cancel} (or
 * {@code orTimeout}) on a suspended call abandons it. In every case the instance stays usable.
 */
public final class AsyncInstance implements AutoCloseable {
    /**
     * Fuel units per slice when none is given: about 2 to 4 ms of guest code on Chicory's interpreter
     * (the C workloads use 250 to 560 units per microsecond there), a time slice of the order operating
     * system schedulers use; every slice end costs an unwind and a rewind when the guest is preempted.
     */
    public static final long DEFAULT_QUANTUM = 1_000_000;

    private static final Logger LOG = LoggerFactory.getLogger(AsyncInstance.class);

    private final Instance instance;
    private final AsyncifyController controller;
    private final ModuleModel transformed;
    private final Executor executor;
    /**
     * Whether a slice's end suspends the call so other work on the executor can run: on a shared
     * executor (a Scheduler's workers, or any given one). The default executor gives every task a
     * thread of its own, so nothing waits there: the end of a slice only checks budget, deadline and
     * cancellation, and the call runs on.
     */
    private final boolean yieldsAtQuantum;
    private final long maxStackBytes;
    private final boolean interleavingAllowed;
    private final Object lock = new Object();
    private final Deque<Runnable> queue = new ArrayDeque<>();
    private boolean draining;
    private volatile Thread runningThread;
    private Coroutine running;
    private int suspended;
    private final java.util.Set<Coroutine> suspendedCalls = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    private volatile boolean closed;
    private final WasiPreview1 wasi;
    private final SuspensionListener listener;
    /** Fuel per slice, 0 when the guest is not metered. */
    private final long quantum;
    /** Fuel granted to the segment running now (a quantum, or the rest of the budget). */
    private long segmentFuel;
    private final long fuelBudget;
    private final java.time.Duration deadline;
    private final GlobalInstance fuel = new GlobalInstance(0, 0, ValType.I64, MutabilityType.Var);
    private final java.util.concurrent.atomic.LongAdder fuelUsed = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder slices = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder suspensions = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder preemptions = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder runNanos = new java.util.concurrent.atomic.LongAdder();
    private volatile Throwable terminated;

    private AsyncInstance(Builder b) {
        this.executor = b.executor != null ? b.executor : GuestThreads.defaultExecutor();
        this.yieldsAtQuantum = b.executor != null;
        this.maxStackBytes = b.maxAsyncifyStackBytes;
        this.listener = b.listener;
        this.quantum = b.quantum;
        this.fuelBudget = b.fuelBudget;
        this.deadline = b.deadline;
        byte[] wasm = b.wasm;
        WasmModule module;
        GlobalInstance state = new GlobalInstance(0, 0, ValType.I32, MutabilityType.Var);
        if (b.binaryenRegion == null) {
            AsyncifyOptions.Builder options = AsyncifyOptions.builder()
                    .unwindingImports(b.asyncImports.stream().map(i -> i.module() + "." + i.name()).toList())
                    .dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY)
                    .secondaryMemoryPages(1, (int) Math.max(1, (b.maxAsyncifyStackBytes + 8 + 65535) / 65536))
                    .importState(true)
                    .deferStart(true)
                    .v128ViaHost(true)
                    .fuel(b.quantum > 0);
            if (b.asyncImports.isEmpty()) {
                options.ignoreImports(true);
            }
            PreparedModule prepared = PreparedModule.of(wasm, options.build());
            this.transformed = prepared.model();
            module = prepared.parsed();
        } else {
            this.transformed = WasmCodec.decode(wasm);
            module = Parser.parse(wasm);
        }

        List<ImportFunction> functions = new ArrayList<>();
        for (AsyncImport imp : b.asyncImports) {
            functions.add(new HostFunction(imp.module(), imp.name(), imp.type(), (inst, args) -> onAsyncImport(imp, inst, args)));
        }
        functions.addAll(b.hostFunctions);
        this.wasi = b.wasiOptions == null ? null : WasiPreview1.builder().withOptions(b.wasiOptions).build();
        if (wasi != null) {
            functions.addAll(Arrays.asList(wasi.toHostFunctions()));
        }
        List<ImportGlobal> globals = new ArrayList<>(b.globals);
        if (b.binaryenRegion == null) {
            globals.add(new ImportGlobal(AsyncifyAbi.STATE_IMPORT_MODULE, AsyncifyAbi.STATE_IMPORT_NAME, state));
            functions.addAll(SuspensionDriver.v128Imports());
        }
        if (quantum > 0) {
            globals.add(new ImportGlobal(AsyncifyAbi.SUSPEND_MODULE, AsyncifyAbi.FUEL_IMPORT, fuel));
            AsyncImport exhausted = new AsyncImport(AsyncifyAbi.SUSPEND_MODULE, AsyncifyAbi.FUEL_EXHAUSTED_IMPORT,
                    com.dylibso.chicory.wasm.types.FunctionType.of(List.of(), List.of()), (inst, args) -> onFuelExhausted());
            functions.add(new HostFunction(exhausted.module(), exhausted.name(), exhausted.type(),
                    (inst, args) -> onAsyncImport(exhausted, inst, args)));
        }
        ImportValues imports = ImportValues.builder()
                .withFunctions(functions)
                .withGlobals(globals)
                .withMemories(b.memories)
                .withTables(b.tables)
                .build();
        // Chicory would run an exported _start at instantiation: a WASI command is run by calling it.
        Instance.Builder ib = Instance.builder(module).withImportValues(imports).withStart(false);
        if (b.maxMemoryPages > 0 && module.memorySection().isPresent()
                && module.memorySection().get().memoryCount() > 0) {
            int initial = module.memorySection().get().getMemory(0).limits().initialPages();
            ib.withMemoryLimits(new com.dylibso.chicory.wasm.types.MemoryLimits(Math.min(initial, b.maxMemoryPages),
                    b.maxMemoryPages));
        }
        if (b.engine == Engine.COMPILER) {
            ib.withMachineFactory(MachineFactoryCompiler.compile(module));
        }
        this.instance = ib.build();
        List<GlobalInstance> coroutineGlobals = new ArrayList<>();
        for (String g : b.coroutineGlobals) {
            coroutineGlobals.add(instance.exports().global(g));
        }
        this.interleavingAllowed = !b.coroutineGlobals.isEmpty() || !ShadowStack.detect(transformed);
        if (b.binaryenRegion == null) {
            this.controller = AsyncifyController.forOwnTransform(instance, state, coroutineGlobals);
        } else {
            int address = b.binaryenRegion instanceof DataRegion.Fixed f ? f.address()
                    : (int) instance.export(((DataRegion.Allocated) b.binaryenRegion).allocatorExport())
                            .apply(b.binaryenRegion.size())[0];
            this.controller = AsyncifyController.forBinaryenModule(instance, address, b.binaryenRegion.size(),
                    coroutineGlobals);
        }
        if (ModuleExports.has(module, AsyncifyAbi.DEFERRED_START_EXPORT)) {
            join(call(AsyncifyAbi.DEFERRED_START_EXPORT));
        }
    }


    /** A builder for a module given as wasm bytes. */
    public static Builder builder(byte[] wasm) {
        return new Builder(Objects.requireNonNull(wasm, "wasm").clone());
    }

    /** A builder for a {@code .wasm} or {@code .wat} file. */
    public static Builder builder(Path file) {
        try {
            String name = file.getFileName().toString();
            if (name.endsWith(".wat")) {
                return new Builder(Wat2Wasm.parse(file.toFile()));
            }
            return new Builder(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** A builder for a module in the wasm text format. */
    public static Builder builderFromWat(String wat) {
        return new Builder(Wat2Wasm.parse(wat));
    }

    /**
     * Calls an exported function. The future completes with its results (one {@code long} per slot,
     * v128 taking two; empty for none) when the call returns, however many times it suspends.
     * Called from inside a host function while this instance runs, the call runs at once, nested, and
     * fails with {@link IllegalStateException} if it tries to suspend.
     */
    public CompletableFuture<long[]> call(String export, long... args) {
        if (closed) {
            throw new IllegalStateException("instance is closed");
        }
        if (terminated != null) {
            return CompletableFuture.failedFuture(new IllegalStateException(
                    "instance was discarded after a call was terminated: " + terminated.getMessage(), terminated));
        }
        if (Thread.currentThread() == runningThread) {
            Coroutine c = new Coroutine(export, instance.export(export), args.clone(), true);
            Coroutine outer = running;
            try {
                run(c, false);
            } finally {
                running = outer;
            }
            return c.result;
        }
        Coroutine c = new Coroutine(export, instance.export(export), args.clone(), false);
        c.result.whenComplete((v, e) -> {
            CompletableFuture<long[]> p = c.pending;
            if (e != null && p != null) {
                p.cancel(true); // the caller gave up (cancel, timeout): release the host operation
            }
        });
        if (deadline != null) {
            CompletableFuture.delayedExecutor(deadline.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS)
                    .execute(() -> {
                        if (!c.result.isDone()) {
                            DeadlineExceededException e = new DeadlineExceededException(export, deadline);
                            terminated = e;
                            c.result.completeExceptionally(e); // a running call stops at its next fuel check
                        }
                    });
        }
        submit(() -> start(c));
        return c.result;
    }

    /** Bytes of saved asyncify stacks (frames, references, globals) held by the suspended calls. */
    public long suspendedStackBytes() {
        synchronized (lock) {
            long n = 0;
            for (Coroutine c : suspendedCalls) {
                SavedStack s = c.saved;
                n += s == null ? 0 : s.bytes();
            }
            return n;
        }
    }

    /** What this guest has consumed so far. */
    public GuestMetrics metrics() {
        return new GuestMetrics(fuelUsed.sum(), slices.sum(), suspensions.sum(), preemptions.sum(), runNanos.sum());
    }

    /** {@link #call} and wait for the result; guest failures are rethrown as they are. */
    public long[] callBlocking(String export, long... args) {
        return join(call(export, args));
    }

    private static long[] join(CompletableFuture<long[]> f) {
        try {
            return f.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new CompletionException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CompletionException(e);
        }
    }

    /** The Chicory instance underneath, for memory and global access. Do not call its exports directly. */
    public Instance instance() {
        return instance;
    }

    /** Number of calls currently suspended. */
    public int suspendedCalls() {
        synchronized (lock) {
            return suspended;
        }
    }

    @Override
    public void close() {
        closed = true;
        if (wasi != null) {
            wasi.close();
        }
    }

    // ------------------------------------------------------------------ serial execution

    private void submit(Runnable task) {
        synchronized (lock) {
            queue.add(task);
            if (draining) {
                return;
            }
            draining = true;
        }
        executor.execute(this::drain);
    }

    /**
     * Runs one queued task, then queues itself again behind whatever else waits on the executor: a
     * busy instance takes turns with other instances (each task is a slice: a call started or resumed).
     */
    private void drain() {
        Runnable task;
        synchronized (lock) {
            task = queue.poll();
            if (task == null) {
                draining = false;
                return;
            }
        }
        runningThread = Thread.currentThread();
        try {
            task.run();
        } finally {
            runningThread = null;
        }
        synchronized (lock) {
            if (queue.isEmpty()) {
                draining = false;
                return;
            }
        }
        executor.execute(this::drain);
    }

    private void start(Coroutine c) {
        if (c.result.isDone()) {
            return; // cancelled before it started
        }
        if (!interleavingAllowed && suspendedCalls() > 0) {
            c.result.completeExceptionally(new IllegalStateException("cannot start '" + c.export + "' while "
                    + suspendedCalls() + " call(s) are suspended: the module keeps a C shadow stack "
                    + "(__stack_pointer), which interleaved calls would corrupt; run one call at a time, or "
                    + "declare per-coroutine globals (AsyncInstance.Builder.withCoroutineGlobals) after giving "
                    + "each call its own stack region"));
            return;
        }
        run(c, false);
    }

    private void run(Coroutine c, boolean resume) {
        running = c;
        long startNanos = System.nanoTime();
        slices.increment();
        refill(c);
        try {
            if (resume) {
                controller.restoreStack(c.saved);
                c.saved = null;
                controller.startRewind();
            }
            long[] r = c.function.apply(c.args);
            chargeFuel(c);
            if (controller.state() == AsyncifyAbi.STATE_UNWINDING) {
                controller.stopUnwind();
                c.saved = controller.takeStack();
                c.suspensions++;
                if (c.pendingImport.endsWith(AsyncifyAbi.FUEL_EXHAUSTED_IMPORT)) {
                    preemptions.increment();
                } else {
                    suspensions.increment();
                }
                synchronized (lock) {
                    suspended++;
                    suspendedCalls.add(c);
                }
                CompletableFuture<long[]> pending = c.pending;
                if (c.result.isDone()) {
                    pending.cancel(true); // given up while it was unwinding: release the host operation
                }
                listener.suspended(c.export, c.pendingImport);
                pending.whenComplete((v, e) -> submit(() -> resumeAfter(c, v, e)));
                if (c.pendingImport.endsWith(AsyncifyAbi.FUEL_EXHAUSTED_IMPORT)) {
                    pending.complete(null); // preempted: its turn comes again after the queued work
                }
            } else {
                c.result.complete(r == null ? new long[0] : r);
            }
        } catch (Throwable t) {
            chargeFuel(c);
            controller.reset();
            c.saved = null;
            Throwable failure = translate(t);
            if (failure instanceof FuelExhaustedException || failure instanceof DeadlineExceededException
                    || failure instanceof java.util.concurrent.CancellationException) {
                terminated = failure; // stopped mid-computation: the guest's state cannot be trusted
            }
            c.result.completeExceptionally(failure);
        } finally {
            runNanos.add(System.nanoTime() - startNanos);
            running = null;
        }
    }

    /**
     * Grants the next segment its fuel: a quantum, or what is left of the budget when that is less, so
     * the budget is enforced at its own size, not rounded up to the end of a slice.
     */
    private void refill(Coroutine c) {
        if (quantum > 0) {
            segmentFuel = fuelBudget > 0 ? Math.max(0, Math.min(quantum, fuelBudget - c.fuelUsed)) : quantum;
            fuel.setValue(segmentFuel);
        }
    }

    /** Charges the fuel this run segment used, and grants the next. */
    private void chargeFuel(Coroutine c) {
        if (quantum > 0) {
            long used = segmentFuel - fuel.getValue();
            c.fuelUsed += used;
            fuelUsed.add(used);
            refill(c);
        }
    }

    /**
     * The metered guest's slice is used up: stop it if its budget or deadline is spent, otherwise
     * preempt it (suspend, and resume after the work already queued on the executor).
     */
    private CompletableFuture<long[]> onFuelExhausted() {
        Coroutine c = running;
        long used = c.fuelUsed + (segmentFuel - fuel.getValue());
        if (fuelBudget > 0 && used >= fuelBudget) {
            throw new FuelExhaustedException(c.export, fuelBudget);
        }
        if (c.result.isDone()) {
            // Abandoned while running (deadline, cancel, timeout): stop it here, between two slices.
            throw deadline != null ? new DeadlineExceededException(c.export, deadline)
                    : new java.util.concurrent.CancellationException("call to '" + c.export + "' was abandoned");
        }
        if (!yieldsAtQuantum) {
            chargeFuel(c); // and a new quantum
            return CompletableFuture.completedFuture(null);
        }
        // Completed by run() once the call has unwound, which requeues it behind the waiting work.
        return new CompletableFuture<>();
    }

    private void resumeAfter(Coroutine c, long[] value, Throwable failure) {
        synchronized (lock) {
            suspended--;
            suspendedCalls.remove(c);
        }
        c.pending = null;
        if (c.result.isDone()) {
            c.saved = null; // abandoned: cancelled or timed out while suspended
            return;
        }
        if (failure != null) {
            c.saved = null;
            c.result.completeExceptionally(failure instanceof CompletionException && failure.getCause() != null
                    ? failure.getCause() : failure);
            return;
        }
        c.resumeValue = value;
        listener.resuming(c.export);
        run(c, true);
    }

    /** The body of every async import. */
    private long[] onAsyncImport(AsyncImport imp, Instance inst, long[] args) {
        Coroutine c = running;
        if (c == null) {
            throw new IllegalStateException("async import " + imp.module() + "." + imp.name()
                    + " called outside a call made through AsyncInstance.call");
        }
        if (controller.state() == AsyncifyAbi.STATE_REWINDING) {
            controller.stopRewind();
            // The rewind passed the fuel checks on its way here again, charging for code it skipped:
            // the segment starts here with its whole grant instead (still deterministic).
            refill(c);
            long[] value = c.resumeValue;
            c.resumeValue = null;
            listener.resumed(c.export, imp.module() + "." + imp.name());
            return value;
        }
        CompletableFuture<long[]> f = imp.function().apply(inst, args).toCompletableFuture();
        if (f.isDone()) {
            return join(f); // already complete: no need to suspend
        }
        if (c.nested) {
            f.cancel(true);
            throw new IllegalStateException("async import " + imp.module() + "." + imp.name() + " cannot suspend "
                    + "a call made from inside a host function (a suspension cannot unwind through the host)");
        }
        c.pending = f;
        c.pendingImport = imp.module() + "." + imp.name();
        controller.startUnwind();
        return new long[resultSlots(imp)];
    }

    private static int resultSlots(AsyncImport imp) {
        int n = 0;
        for (ValType t : imp.type().returns()) {
            n += t.equals(ValType.V128) ? 2 : 1;
        }
        return n;
    }

    private Throwable translate(Throwable t) {
        for (Throwable x = t; x != null; x = x.getCause()) {
            if (x instanceof FuelExhaustedException || x instanceof DeadlineExceededException
                    || x instanceof java.util.concurrent.CancellationException) {
                return x;
            }
        }
        AsyncifyController.Fault fault = controller.fault();
        if (fault != null && fault.kind() == AsyncifyAbi.FAULT_OVERFLOW) {
            return new AsyncifyStackOverflowException(transformed.functionDisplayName(fault.functionIndex()),
                    maxStackBytes, t);
        }
        if (fault != null && fault.kind() == AsyncifyAbi.FAULT_FOREIGN_FRAME) {
            return new ResumeMismatchException(transformed.functionDisplayName(fault.functionIndex()), t);
        }
        LOG.debug("guest call failed", t);
        return t;
    }

    /** Builder of {@link AsyncInstance}. */
    public static final class Builder {
        private final byte[] wasm;
        private final List<AsyncImport> asyncImports = new ArrayList<>();
        private final List<ImportFunction> hostFunctions = new ArrayList<>();
        private final List<ImportGlobal> globals = new ArrayList<>();
        private final List<ImportMemory> memories = new ArrayList<>();
        private final List<ImportTable> tables = new ArrayList<>();
        private final List<String> coroutineGlobals = new ArrayList<>();
        private WasiOptions wasiOptions;
        private Executor executor;
        private Engine engine = Engine.INTERPRETER;
        private long maxAsyncifyStackBytes = 16L << 20;
        private DataRegion binaryenRegion;
        private SuspensionListener listener = new SuspensionListener() { };
        private long quantum;
        private long fuelBudget;
        private java.time.Duration deadline;
        private int maxMemoryPages;

        private Builder(byte[] wasm) {
            this.wasm = wasm;
        }

        /** An import completing asynchronously; calls reaching it can suspend. */
        public Builder withAsyncImport(AsyncImport asyncImport) {
            asyncImports.add(Objects.requireNonNull(asyncImport));
            return this;
        }

        /** An ordinary (synchronous) Chicory host function. */
        public Builder withHostFunction(ImportFunction function) {
            hostFunctions.add(Objects.requireNonNull(function));
            return this;
        }

        public Builder withGlobal(ImportGlobal global) {
            globals.add(global);
            return this;
        }

        public Builder withMemory(ImportMemory memory) {
            memories.add(memory);
            return this;
        }

        public Builder withTable(ImportTable table) {
            tables.add(table);
            return this;
        }

        /** WASI preview 1 (Chicory's implementation) with these options. */
        public Builder withWasi(WasiOptions options) {
            this.wasiOptions = Objects.requireNonNull(options);
            return this;
        }

        /**
         * Meters the guest: every call runs in slices of {@code quantum} fuel units. A unit is one
         * instruction on the most expensive path to the next check, some costs charged in advance (a
         * short loop's first round, a callee's straight-line code), so a guest uses at least one unit per
         * instruction it runs, often several (except an exported function without calls or loops, which
         * runs uncharged when the host calls it: it is bounded); the same input always uses the same
         * fuel. Bulk instructions (memory.fill, table.grow...) also pay for their length, before they run.
         * On a shared executor ({@link #withExecutor}, or a {@link Scheduler}) a call is
         * preempted at the end of each slice, letting other work on the executor run before it resumes;
         * preemption never loses state: the call just continues later. On the default executor, where
         * every call has a thread of its own, the end of a slice only enforces the fuel budget, the
         * deadline and cancellation.
         */
        public Builder withFuelQuantum(long quantum) {
            if (quantum <= 0) {
                throw new IllegalArgumentException("fuel quantum must be positive: " + quantum);
            }
            this.quantum = quantum;
            return this;
        }

        /**
         * Terminates a call (with {@link FuelExhaustedException}) once it has used {@code budget} fuel
         * units in total; implies metering (with {@link AsyncInstance#DEFAULT_QUANTUM} if no quantum was set).
         */
        public Builder withFuelBudget(long budget) {
            if (budget <= 0) {
                throw new IllegalArgumentException("fuel budget must be positive: " + budget);
            }
            this.fuelBudget = budget;
            if (quantum == 0) {
                quantum = DEFAULT_QUANTUM;
            }
            return this;
        }

        /** Terminates a call (with {@link DeadlineExceededException}) that has not finished after {@code deadline}. */
        public Builder withDeadline(java.time.Duration deadline) {
            this.deadline = Objects.requireNonNull(deadline);
            if (quantum == 0) {
                quantum = DEFAULT_QUANTUM; // a running call notices its deadline at the end of a slice
            }
            return this;
        }

        /** The most 64 KiB pages memory 0 may grow to; growing beyond fails as memory.grow does. */
        public Builder maxMemoryPages(int pages) {
            this.maxMemoryPages = pages;
            return this;
        }

        /** Observes suspensions and resumptions. */
        public Builder withListener(SuspensionListener listener) {
            this.listener = Objects.requireNonNull(listener);
            return this;
        }

        /** Where guest code runs; the default uses daemon threads with a 256 MiB stack. */
        public Builder withExecutor(Executor executor) {
            this.executor = Objects.requireNonNull(executor);
            return this;
        }

        public Builder withEngine(Engine engine) {
            this.engine = Objects.requireNonNull(engine);
            return this;
        }

        /** The most asyncify stack one suspended call may use (default 16 MiB); beyond, the call fails. */
        public Builder maxAsyncifyStackBytes(long bytes) {
            if (bytes < 64) {
                throw new IllegalArgumentException("asyncify stack limit too small: " + bytes);
            }
            this.maxAsyncifyStackBytes = bytes;
            return this;
        }

        /**
         * Exported mutable globals whose values belong to each call (saved at a suspension, restored at
         * its resume); declaring them also allows interleaving calls on a module with a C shadow stack,
         * which is then the guest's responsibility to keep apart (e.g. a stack region per call).
         */
        public Builder withCoroutineGlobals(String... exportedGlobals) {
            coroutineGlobals.addAll(Arrays.asList(exportedGlobals));
            return this;
        }

        /**
         * The module was asyncified ahead of time by Binaryen's {@code wasm-opt --asyncify}: it is not
         * transformed again, and its asyncify data lives in {@code region} of its memory 0.
         */
        public Builder alreadyAsyncified(DataRegion region) {
            this.binaryenRegion = Objects.requireNonNull(region);
            return this;
        }

        /** Asyncifies (unless already asyncified), instantiates and runs the start function. */
        public AsyncInstance build() {
            return new AsyncInstance(this);
        }
    }
}
