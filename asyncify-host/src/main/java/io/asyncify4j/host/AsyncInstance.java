package io.asyncify4j.host;

import io.asyncify4j.engine.EngineErrors;
import io.asyncify4j.engine.Engines;
import io.asyncify4j.engine.ModuleExports;
import io.asyncify4j.engine.References;
import run.endive.runtime.ExportFunction;
import run.endive.runtime.GlobalInstance;
import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportFunction;
import run.endive.runtime.ImportGlobal;
import run.endive.runtime.ImportMemory;
import run.endive.runtime.ImportTable;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.wasi.WasiOptions;
import run.endive.wasi.WasiPreview1;
import run.endive.wasm.WasmModule;
import run.endive.wasm.types.MutabilityType;
import run.endive.wasm.types.ValType;
import io.asyncify4j.asyncify.AsyncifyAbi;
import io.asyncify4j.engine.SuspensionDriver;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
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
 * suspended. Several calls may be in flight on one instance; by default they run one at a time, in
 * order (a suspended call keeps its place), and with {@link Builder#withInterleavedCalls} as coroutines,
 * each with its own stack. The instance is only ever entered by one thread at a time; all its methods
 * are thread-safe.
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
 * <p>Safe by default for untrusted guests: every module is validated first; imports of the runtime's
 * own namespaces are refused; every guest is metered, so any call can be stopped within a slice by
 * {@code cancel}, {@link #close()}, a deadline or a fuel budget; every memory and table is bounded
 * ({@link Builder#withMaxMemoryPages}, {@link Builder#withMaxTableElements}, {@link Builder#withMaxGuestBytes}).
 *
 * <p>Failures complete the call's future exceptionally with a {@link GuestTerminatedException}, whose
 * kind says whether the instance is still usable (a trap or a limit: yes; a call stopped mid-computation
 * by its budget, deadline or cancellation: no, the instance is discarded), or with the exception of a
 * failing async import as the host gave it (the suspended guest is dropped; the instance stays usable).
 */
public final class AsyncInstance implements AutoCloseable {
    /**
     * Fuel units per slice when none is given: about 2 to 4 ms of guest code on Endive's interpreter
     * (the C workloads use 250 to 560 units per microsecond there), a time slice of the order operating
     * system schedulers use; every slice end costs an unwind and a rewind when the guest is preempted.
     * An instance without a quantum of its own checks for stop requests (cancel, close, deadline) at
     * this interval.
     */
    public static final long DEFAULT_QUANTUM = 1_000_000;

    private static final Logger LOG = LoggerFactory.getLogger(AsyncInstance.class);

    private final Instance instance;
    private final AsyncifyController controller;
    private final PreparedModule prepared;
    private final java.util.Set<String> guestExports;
    private final Executor executor;
    /**
     * Whether a slice's end suspends the call so other work on the executor can run: on a shared
     * executor (a Scheduler's workers, or any given one) when the guest is metered. The default executor
     * gives every task a thread of its own, so nothing waits there: the end of a slice only checks
     * budget, deadline, cancellation and close, and the call runs on.
     */
    private final boolean yieldsAtQuantum;
    private final long maxStackBytes;
    /** Whether calls may interleave (a call starts while another is suspended); off by default. */
    private final boolean interleaved;
    private final Object lock = new Object();
    private final Deque<Runnable> queue = new ArrayDeque<>();
    private boolean draining;
    /** The default-executor thread waiting in {@link #linger()} for this instance's next task, or null. */
    private volatile Thread lingering;
    private final Runnable drainTask = this::drain;
    /**
     * {@link #linger()}'s record, kept by the draining thread: waits in a row whose task did not come while
     * spinning, and that timed out (each capped at {@link GuestThreads#MISSES}, where it stops spinning,
     * or lingering, but for one probe in {@link GuestThreads#PROBE_EVERY}); and waits counted.
     */
    private int spinMisses;
    private int lingerMisses;
    private int lingerCount;
    private volatile Thread runningThread;
    private Coroutine running;
    /** Every root call not yet finished: waiting, running or suspended. */
    private final java.util.Set<Coroutine> live = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    /** Calls waiting for the instance while another call holds it (one call at a time). */
    private final Deque<Coroutine> waiting = new ArrayDeque<>();
    /** The call holding the instance (one call at a time), from its start until it finishes. */
    private Coroutine active;
    private int suspended;
    private volatile boolean closed;
    private final WasiPreview1 wasi;
    private final SuspensionListener listener;
    private final Scheduler scheduler;
    /** Fuel per slice; every guest of our own transform is metered (without a quantum: for stop checks). */
    private final long quantum;
    /** Fuel granted to the segment running now (a quantum, or the rest of the budget). */
    private long segmentFuel;
    private final long fuelBudget;
    private final java.time.Duration deadline;
    private final GlobalInstance fuel = new GlobalInstance(0, 0, ValType.I64, MutabilityType.Var);
    /** The guest's shadow-stack pointer (a C guest's {@code __stack_pointer}), or null. */
    private final GlobalInstance stackPointer;
    private final java.util.concurrent.atomic.LongAdder fuelUsed = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder slices = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder suspensions = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder preemptions = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder runNanos = new java.util.concurrent.atomic.LongAdder();
    private static final java.util.concurrent.atomic.AtomicLong INSTANCES = new java.util.concurrent.atomic.AtomicLong();
    /** This instance in logs: the module's id and a sequence number. */
    private final String name;
    /** A WASI reactor: exports {@code _initialize} (run at build, once) and no {@code _start}. */
    private final boolean reactor;
    /** Why the instance takes no more calls (closed, or discarded after a call was stopped mid-computation). */
    private volatile Throwable terminated;

    private AsyncInstance(InstancePre pre, Builder b) {
        AsyncModule module = pre.module();
        Linker linker = pre.linker();
        this.executor = b.executor != null ? b.executor : GuestThreads.defaultExecutor();
        this.scheduler = b.scheduler;
        this.maxStackBytes = module.maxAsyncifyStackBytes();
        this.listener = b.listener;
        this.fuelBudget = b.fuelBudget;
        this.deadline = b.deadline;
        DataRegion binaryenRegion = module.alreadyAsyncifiedRegion();
        boolean ownTransform = binaryenRegion == null;
        // Every guest is metered: with no quantum of its own, the checks only serve to stop it (cancel,
        // close, deadline) within a bounded time. A module asyncified ahead of time is metered but never
        // preempted (its own asyncify knows nothing of the fuel import, so the checks cannot unwind).
        this.quantum = b.quantum > 0 ? b.quantum : DEFAULT_QUANTUM;
        this.yieldsAtQuantum = b.executor != null && b.quantum > 0 && ownTransform;
        GlobalInstance state = new GlobalInstance(0, 0, ValType.I32, MutabilityType.Var);
        PreparedModule prepared = module.prepared();
        this.prepared = prepared;
        this.name = prepared.id() + "#" + INSTANCES.incrementAndGet();
        this.reactor = prepared.guestExports().contains(REACTOR_INITIALIZE) && !prepared.guestExports().contains("_start");
        this.guestExports = prepared.guestExports();
        OptionalInt shadowStack = prepared.shadowStackPointer();
        this.interleaved = b.interleaved;
        if (interleaved && shadowStack.isPresent() && b.coroutineGlobals.isEmpty()) {
            throw new IllegalStateException("refusing interleaved calls: the module keeps a C-style shadow stack in "
                    + "linear memory behind global " + shadowStack.getAsInt() + " (a stack pointer), which calls "
                    + "suspended at the same time would share and corrupt; run one call at a time (the default)");
        }

        List<ImportFunction> functions = new ArrayList<>();
        for (AsyncImport imp : linker.asyncImports()) {
            // externref parameters and results in the handle view, as for exports (References)
            functions.add(new HostFunction(imp.module(), imp.name(), imp.type(),
                    References.withHandles(imp.type(), (inst, args) -> onAsyncImport(imp, inst, args))));
        }
        functions.addAll(linker.functions());
        this.wasi = linker.wasi() == null ? null : WasiPreview1.builder().withOptions(linker.wasi()).build();
        if (wasi != null) {
            functions.addAll(Arrays.asList(wasi.toHostFunctions()));
        }
        List<ImportGlobal> globals = new ArrayList<>(linker.globals());
        if (ownTransform) {
            globals.add(new ImportGlobal(AsyncifyAbi.STATE_IMPORT_MODULE, AsyncifyAbi.STATE_IMPORT_NAME, state));
            functions.addAll(SuspensionDriver.v128Imports());
        }
        globals.add(new ImportGlobal(AsyncifyAbi.SUSPEND_MODULE, AsyncifyAbi.FUEL_IMPORT, fuel));
        AsyncImport exhausted = new AsyncImport(AsyncifyAbi.SUSPEND_MODULE, AsyncifyAbi.FUEL_EXHAUSTED_IMPORT,
                run.endive.wasm.types.FunctionType.of(List.of(), List.of()), (inst, args) -> onFuelExhausted());
        if (ownTransform) {
            functions.add(new HostFunction(exhausted.module(), exhausted.name(), exhausted.type(),
                    (inst, args) -> onAsyncImport(exhausted, inst, args)));
        } else {
            // Checks placed after the module's own asyncify: they must return (a new slice) or throw (stop).
            functions.add(new HostFunction(exhausted.module(), exhausted.name(), exhausted.type(), (inst, args) -> {
                if (running == null) {
                    // Guest code the host runs outside any call (the data allocator) gets one slice, no more.
                    throw new LimitExceededException(null, "guest code run outside a call (the asyncify data "
                            + "allocator) used its one slice of " + quantum + " fuel units", null);
                }
                chargeFuel(notStopped());
                return null;
            }));
        }
        ImportValues imports = ImportValues.builder()
                .withFunctions(functions)
                .withGlobals(globals)
                .withMemories(linker.memories())
                .withTables(linker.tables())
                .withTags(linker.tags())
                .build();
        // Endive would run an exported _start at instantiation: a WASI command is run by calling it.
        WasmModule parsed = prepared.parsed();
        Instance.Builder ib = module.machineFactory() != null
                ? Engines.builder(parsed, imports, module.machineFactory())
                : Engines.builder(parsed, imports, Engines.Kind.INTERPRETER);
        if (ownTransform) {
            ib.withMemoryFactory(dataMemoryFactory(prepared.dataMemory()));
        }
        this.instance = ib.withStart(false).build();
        this.stackPointer = shadowStack.isPresent() ? instance.global(shadowStack.getAsInt()) : null;
        List<GlobalInstance> coroutineGlobals = new ArrayList<>();
        for (String g : b.coroutineGlobals) {
            coroutineGlobals.add(instance.exports().global(g));
        }
        if (ownTransform) {
            this.controller = AsyncifyController.forOwnTransform(instance, state, coroutineGlobals);
        } else {
            int address = binaryenRegion instanceof DataRegion.Fixed f ? f.address()
                    : allocate((DataRegion.Allocated) binaryenRegion);
            this.controller = AsyncifyController.forBinaryenModule(instance, address, binaryenRegion.size(),
                    coroutineGlobals);
        }
        if (scheduler != null) {
            scheduler.register(this);
        }
        initialize(ModuleExports.has(parsed, AsyncifyAbi.DEFERRED_START_EXPORT) ? AsyncifyAbi.DEFERRED_START_EXPORT : null);
        // A WASI reactor (exports _initialize, not _start) is initialised once, before any call, as
        // wasmtime and Node's WASI do.
        initialize(reactor ? REACTOR_INITIALIZE : null);
        LOG.debug("instance {} created on the {}: {} exports, quantum {}{}{}", name,
                module.machineFactory() == null ? "interpreter" : module.engine() == Engine.COMPILER ? "compiler"
                        : "given machine factory", guestExports.size(), quantum,
                fuelBudget > 0 ? ", budget " + fuelBudget : "", deadline != null ? ", deadline " + deadline : "");
    }


    /**
     * The memories of a module asyncified by asyncify4j: its asyncify data memory an {@link AsyncifyDataMemory},
     * which holds bytes only while a stack moves through it; the guest's own memories as the engine makes them.
     */
    private static java.util.function.Function<run.endive.wasm.types.MemoryLimits, run.endive.runtime.Memory>
            dataMemoryFactory(int dataIndex) {
        int[] defined = {0}; // the engine makes the module's own memories in index order, one build at a time
        return limits -> defined[0]++ == dataIndex
                ? new AsyncifyDataMemory(limits.initialPages(), limits.maximumPages())
                : new run.endive.runtime.ByteBufferMemory(limits);
    }

    /**
     * Calls the allocator export for a Binaryen module's asyncify data, outside any call: metered with one
     * slice; a trap or a slice used up fails the build with a typed exception.
     */
    private int allocate(DataRegion.Allocated region) {
        fuel.setValue(quantum);
        try {
            return (int) instance.export(region.allocatorExport()).apply(region.size())[0];
        } catch (GuestTerminatedException e) {
            throw e;
        } catch (RuntimeException | StackOverflowError e) {
            throw new GuestTrapException(region.allocatorExport(), e);
        }
    }

    /** The export a WASI reactor module initialises itself with, run by {@link Builder#build()}. */
    public static final String REACTOR_INITIALIZE = "_initialize";

    /** Runs {@code export} (if not null) as part of building: metered, stoppable; a failure closes the instance. */
    private void initialize(String export) {
        if (export == null) {
            return;
        }
        try {
            join(start(export, new long[0], false));
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /**
     * A one-shot builder for a module given as wasm bytes: it takes the module's, the imports' and the
     * instance's settings together and makes an {@link AsyncModule}, links it and instantiates it in
     * {@link Builder#build()}. To make many instances of one module, build the {@link AsyncModule} once and
     * instantiate it through a {@link Linker} ({@link InstancePre#builder()}): the module is then decoded,
     * transformed and compiled once.
     */
    public static Builder builder(byte[] wasm) {
        return new Builder(AsyncModule.builder(wasm));
    }

    /** A one-shot builder for a {@code .wasm} or {@code .wat} file (the text format needs {@code com.dylibso.chicory:wabt}). */
    public static Builder builder(Path file) {
        return new Builder(AsyncModule.builder(file));
    }

    /**
     * A one-shot builder for a module in the wasm text format; needs {@code com.dylibso.chicory:wabt} on the
     * class path (the host does not depend on it), else fails with {@link IllegalStateException}.
     */
    public static Builder builderFromWat(String wat) {
        return new Builder(AsyncModule.builderFromWat(wat));
    }

    /**
     * Calls an exported function. The future completes with its results (one {@code long} per slot,
     * v128 taking two; empty for none) when the call returns, however many times it suspends.
     * Externref and GC reference arguments and results are host handles ({@link References}).
     *
     * <p>By default an instance runs one call at a time: a call made while another is running or
     * suspended waits, in order, until that one finishes (see {@link Builder#withInterleavedCalls}).
     * Failures complete the future exceptionally, never throw here: an unknown export or wrong
     * arguments with {@link IllegalArgumentException}, everything else with a
     * {@link GuestTerminatedException} (or the exception of a failing async import, as the host gave it).
     * Cancelling the future stops the call: a waiting or suspended call is dropped (and the host future
     * it waits on cancelled), a running one is stopped at its next fuel check and the instance discarded.
     *
     * <p>Called from inside a host function while this instance runs, the call runs at once, nested,
     * charged to the fuel, budget, deadline and cancellation of the call it runs inside, and fails with
     * {@link IllegalStateException} if it tries to suspend.
     */
    public CompletableFuture<long[]> call(String export, long... args) {
        Objects.requireNonNull(export, "export");
        long[] copy = Objects.requireNonNull(args, "args").clone();
        if (Thread.currentThread() == runningThread && running != null) {
            return nested(export, copy);
        }
        return start(export, copy, true);
    }

    private CompletableFuture<long[]> start(String export, long[] args, boolean guestExportOnly) {
        Throwable gone = terminated;
        if (closed || gone != null) {
            return CompletableFuture.failedFuture(new InstanceClosedException(export, gone == null
                    ? "the instance is closed" : "the instance was discarded: " + gone.getMessage(), gone));
        }
        Coroutine.Target target;
        try {
            target = resolve(export, args, guestExportOnly);
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(e);
        }
        // Giving the call up (cancel, a deadline, close, a failure) reaches abandon() through the coroutine,
        // which is the caller's future.
        Coroutine c = new Coroutine(export, target, args, null, this);
        synchronized (lock) {
            live.add(c);
        }
        if (deadline != null) {
            CompletableFuture.delayedExecutor(deadline.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS)
                    .execute(() -> c.completeExceptionally(
                            new DeadlineExceededException(export, deadline, c.phase == Coroutine.Phase.RUNNING)));
        }
        submit(() -> begin(c));
        return c;
    }

    private CompletableFuture<long[]> nested(String export, long[] args) {
        Coroutine outer = running;
        Throwable gone = terminated;
        if (closed || gone != null) {
            return CompletableFuture.failedFuture(new InstanceClosedException(export, "the instance is closed", gone));
        }
        Coroutine.Target target;
        try {
            target = resolve(export, args, true);
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(e);
        }
        Coroutine c = new Coroutine(export, target, args, outer, this);
        try {
            run(c, false);
        } finally {
            running = outer;
        }
        return c;
    }

    /** The export's function, after checking it is one of the guest's and that the arguments fit its type. */
    private Coroutine.Target resolve(String export, long[] args, boolean guestExportOnly) {
        if (guestExportOnly && !guestExports.contains(export)) {
            throw new IllegalArgumentException("the module exports no function '" + export + "'");
        }
        if (guestExportOnly && reactor && export.equals(REACTOR_INITIALIZE)) {
            throw new IllegalArgumentException("'" + REACTOR_INITIALIZE + "' ran when the instance was built: a WASI "
                    + "reactor is initialised once");
        }
        io.asyncify4j.wasm.model.FuncType type = prepared.exportTypes().get(export);
        if (type == null) {
            throw new IllegalArgumentException("the module exports no function '" + export + "'");
        }
        int slots = 0;
        for (io.asyncify4j.wasm.model.ValType p : type.params()) {
            slots += p == io.asyncify4j.wasm.model.ValType.V128 ? 2 : 1;
        }
        if (slots != args.length) {
            throw new IllegalArgumentException("'" + export + "' takes " + type.params().size() + " argument(s) "
                    + type.params() + " (" + slots + " slots), given " + args.length);
        }
        int slot = 0;
        for (io.asyncify4j.wasm.model.ValType p : type.params()) {
            if ((p == io.asyncify4j.wasm.model.ValType.I32 || p == io.asyncify4j.wasm.model.ValType.F32)
                    && (args[slot] < Integer.MIN_VALUE || args[slot] > 0xFFFF_FFFFL)) {
                throw new IllegalArgumentException("argument " + slot + " of '" + export + "' is " + p
                        + " but " + args[slot] + " does not fit in 32 bits");
            }
            slot += p == io.asyncify4j.wasm.model.ValType.V128 ? 2 : 1;
        }
        Coroutine.Target last = lastTarget;
        if (last != null && last.export().equals(export)) {
            return last;
        }
        Coroutine.Target target = new Coroutine.Target(export, References.exportWithHandles(instance, export), slots);
        lastTarget = target;
        return target;
    }

    /**
     * The export called last, with its function: calls of one export share it (rather than one each, held
     * per suspended call); one field, not a map, so an instance that takes one call pays for no more.
     */
    private volatile Coroutine.Target lastTarget;

    /** Bytes of saved asyncify stacks (frames, references, globals) held by the suspended calls. */
    public long suspendedStackBytes() {
        synchronized (lock) {
            long n = 0;
            for (Coroutine c : live) {
                n += c.savedBytes();
            }
            return n;
        }
    }

    /** What this guest has consumed so far. */
    public GuestMetrics metrics() {
        return new GuestMetrics(fuelUsed.sum(), slices.sum(), suspensions.sum(), preemptions.sum(), runNanos.sum());
    }

    /**
     * {@link #call} and wait for the result; failures are rethrown unwrapped (the
     * {@link GuestTerminatedException}, or the async import's exception). An interrupt while waiting
     * cancels the call.
     */
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
        } catch (java.util.concurrent.CancellationException e) {
            throw e;
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new CompletionException(e);
        }
    }

    /** The Endive instance underneath, for memory and global access. Do not call its exports directly. */
    public Instance instance() {
        return instance;
    }

    /** The guest's shadow-stack pointer global, or null (for tests). */
    GlobalInstance stackPointer() {
        return stackPointer;
    }

    /** Number of calls currently suspended. */
    public int suspendedCalls() {
        synchronized (lock) {
            return suspended;
        }
    }

    /**
     * Closes the instance: every call not finished — waiting, suspended or running — fails with
     * {@link InstanceClosedException} (a running call stops at its next fuel check, within a slice; the
     * host futures suspended calls wait on are cancelled), and later calls fail at once. Idempotent.
     */
    @Override
    public void close() {
        discard(null);
    }

    /** Fails every unfinished call and refuses new ones; {@code why} null: closed by the host. */
    private void discard(Throwable why) {
        List<Coroutine> all;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            if (why != null && terminated == null) {
                terminated = why;
            }
            all = new ArrayList<>(live);
            waiting.clear();
        }
        stopRunningGuest();
        LOG.debug("instance {} {}; {} unfinished calls fail", name, why == null ? "closed" : "discarded", all.size());
        for (Coroutine c : all) {
            c.completeExceptionally(new InstanceClosedException(c.export, why == null ? "the instance was closed"
                    : "the instance was discarded: " + why.getMessage(), why));
        }
        if (wasi != null && why == null) {
            wasi.close();
        }
        if (scheduler != null) {
            scheduler.unregister(this);
        }
    }

    /** Makes the running guest (if any) reach its next fuel check at once (a best effort: a slice is the bound). */
    private void stopRunningGuest() {
        fuel.setValue(-1);
    }

    /** A call's future completed exceptionally (cancelled, timed out, deadline, closed, or failed). */
    void abandon(Coroutine c) {
        if (c.nested()) {
            return;
        }
        Coroutine.Phase phase = c.phase;
        if (phase == Coroutine.Phase.RUNNING) {
            stopRunningGuest(); // it stops at its next check, where the host sees the future done
            return;
        }
        CompletableFuture<long[]> p = c.pending;
        if (p != null) {
            p.cancel(true); // release the host operation; its completion drops the suspended call
        }
        boolean dropWaiting;
        synchronized (lock) {
            dropWaiting = phase == Coroutine.Phase.WAITING && waiting.remove(c);
        }
        if (dropWaiting) {
            finish(c);
        }
    }

    // ------------------------------------------------------------------ serial execution

    /**
     * Queues a task (a call started or resumed) for the instance's executor. If a thread is draining the
     * queue it runs the task; if that thread is {@linkplain #linger() lingering} for it, it is woken directly
     * (one unpark, no executor hand-off); else the executor is given a drain.
     */
    private void submit(Runnable task) {
        Thread waiter;
        synchronized (lock) {
            queue.add(task);
            if (!draining) {
                draining = true;
                waiter = null;
            } else {
                waiter = lingering;
                lingering = null;
                if (waiter == null) {
                    return; // the draining thread runs it
                }
            }
        }
        if (waiter != null) {
            java.util.concurrent.locks.LockSupport.unpark(waiter);
        } else {
            execute();
        }
    }

    private void execute() {
        try {
            executor.execute(drainTask);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            synchronized (lock) {
                queue.clear();
                draining = false;
            }
            discard(new java.util.concurrent.RejectedExecutionException("its executor refused work (scheduler closed?)", e));
        }
    }

    /**
     * Runs the queued tasks (each a slice: a call started or resumed). On an executor given by the user
     * or a {@link Scheduler}'s, it runs one, then queues itself again behind whatever else waits there,
     * so a busy instance takes turns with other instances. On the default executor, where every task has
     * a thread of its own and nothing waits, it runs them all on this thread: a resume queued meanwhile
     * (a future completed while the call was still unwinding) needs no second thread; and once the queue
     * is empty while a call is suspended, the thread {@linkplain #linger() lingers} a moment for its resume.
     */
    private void drain() {
        boolean ownThreads = executor == GuestThreads.defaultExecutor();
        while (true) {
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
            } catch (RuntimeException | Error e) {
                LOG.warn("instance {}: guest task failed outside a call", name, e);
            } finally {
                runningThread = null;
            }
            if (!ownThreads) {
                synchronized (lock) {
                    if (queue.isEmpty()) {
                        draining = false;
                        return;
                    }
                }
                execute();
                return;
            }
            if (!linger()) {
                return;
            }
        }
    }

    /**
     * After a task, on a default-executor thread that drains the instance: whether another task is queued
     * (true: drain on), else, while a call is suspended, waits up to {@link GuestThreads#LINGER_NANOS} for
     * one as {@link #lingering}, for {@link #submit} to hand the resume to directly: a future completed
     * soon after its call suspended resumes on this thread, with no executor hand-off. It first spins up
     * to {@link GuestThreads#SPIN_NANOS} (a resume arriving then needs no thread wake-up at all), then
     * parks. Adaptive, per instance: it spins only while recent resumes came within the spin
     * ({@link #spinMisses}), and lingers only while they came within the linger ({@link #lingerMisses}),
     * but for a probe now and then; so a guest whose futures take longer costs neither a spinning core
     * nor a timed wake-up per suspension. At most {@link GuestThreads#MAX_LINGERING} threads linger at
     * once, on all instances. Returns false once the instance is left undrained (nothing queued, no longer
     * draining): the thread goes back to the pool.
     */
    private boolean linger() {
        Thread me = Thread.currentThread();
        synchronized (lock) {
            if (!queue.isEmpty()) {
                return true;
            }
            boolean probe = (++lingerCount & (GuestThreads.PROBE_EVERY - 1)) == 0;
            if (suspended == 0 || closed || (lingerMisses >= GuestThreads.MISSES && !probe)
                    || !GuestThreads.startLingering()) {
                draining = false;
                return false;
            }
            lingering = me;
        }
        boolean spun = false;
        try {
            long start = System.nanoTime();
            if (spinMisses < GuestThreads.MISSES || (lingerCount & (GuestThreads.PROBE_EVERY - 1)) == 0) {
                for (int i = 1; lingering == me; i++) {
                    Thread.onSpinWait();
                    if ((i & 15) == 0 && System.nanoTime() - start >= GuestThreads.SPIN_NANOS) {
                        break;
                    }
                }
                spun = lingering != me;
            }
            while (lingering == me) {
                long left = start + GuestThreads.LINGER_NANOS - System.nanoTime();
                if (left <= 0 || me.isInterrupted()) {
                    break;
                }
                java.util.concurrent.locks.LockSupport.parkNanos(this, left);
            }
        } finally {
            GuestThreads.stopLingering();
        }
        spinMisses = spun ? 0 : Math.min(spinMisses + 1, GuestThreads.MISSES);
        synchronized (lock) {
            if (lingering == me) {
                lingering = null; // not handed a task in time
                lingerMisses = Math.min(lingerMisses + 1, GuestThreads.MISSES);
            } else {
                lingerMisses = 0;
            }
            if (queue.isEmpty()) {
                draining = false;
                return false;
            }
            return true;
        }
    }

    /** Starts a root call, or queues it while another call holds the instance (one call at a time). */
    private void begin(Coroutine c) {
        if (c.isDone()) {
            finish(c);
            return;
        }
        synchronized (lock) {
            if (!interleaved) {
                if (active != null && active != c) {
                    waiting.add(c);
                    return;
                }
                active = c;
            }
        }
        if (stackPointer != null) {
            c.stackPointerAtStart = (int) stackPointer.getValue();
        }
        run(c, false);
    }

    /** A root call is over (result, failure, or dropped): the next waiting call may start. */
    private void finish(Coroutine c) {
        c.phase = Coroutine.Phase.DONE;
        Coroutine next = null;
        synchronized (lock) {
            live.remove(c);
            if (active == c) {
                active = null;
                next = waiting.poll();
                if (next != null) {
                    active = next;
                }
            }
        }
        c.release();
        if (next != null) {
            Coroutine n = next;
            submit(() -> begin(n)); // it holds the instance already: begin() runs it, or finishes it if given up
        }
    }

    private void run(Coroutine c, boolean resume) {
        Coroutine outer = running;
        running = c;
        c.phase = Coroutine.Phase.RUNNING;
        long startNanos = System.nanoTime();
        if (!c.nested()) {
            slices.increment();
            refill(c);
        }
        try {
            if (resume) {
                controller.restoreStack(c.saved());
                c.dropSaved();
                controller.startRewind();
            }
            long[] r = c.target.function().apply(c.arguments());
            if (c.nested()) {
                c.phase = Coroutine.Phase.DONE;
                c.complete(r == null ? new long[0] : r);
                return;
            }
            chargeFuel(c);
            if (controller.state() == AsyncifyAbi.STATE_UNWINDING) {
                controller.stopUnwind();
                SavedStack saved = controller.takeStack();
                if (saved.frames().length > maxStackBytes) {
                    throw new AsyncifyStackOverflowException(c.export, "the suspended call stack", maxStackBytes, null);
                }
                suspend(c, saved);
            } else if (c.isDone()) {
                abandoned(c); // it returned, but was given up meanwhile
            } else {
                c.complete(r == null ? new long[0] : r);
                finish(c);
            }
        } catch (Throwable t) {
            if (c.nested()) {
                c.phase = Coroutine.Phase.DONE;
                Throwable failure = translate(t, c);
                // A budget, deadline or cancellation that stopped it is the root call's: the exception reaches
                // the host function, and the root call stops at its next check even if that swallows it.
                c.completeExceptionally(failure);
                return;
            }
            chargeFuel(c);
            CompletableFuture<long[]> pending = c.pending;
            if (pending != null) {
                pending.cancel(true);
            }
            controller.reset();
            c.dropSaved();
            Throwable failure = translate(t, c);
            boolean discarded = failure instanceof GuestTerminatedException g && !g.instanceUsable();
            if (discarded) {
                LOG.debug("instance {}: call to '{}' stopped, instance discarded: {}", name, c.export, failure.getMessage());
            }
            c.completeExceptionally(failure);
            finish(c);
            if (discarded) {
                discard(failure); // stopped mid-computation: the guest's state cannot be trusted
            }
        } finally {
            if (!c.nested()) {
                runNanos.add(System.nanoTime() - startNanos);
            }
            running = outer;
        }
    }

    private void suspend(Coroutine c, SavedStack saved) {
        c.save(saved);
        // First, so that a listener that throws fails the call (in run) before it counts as suspended.
        if (listener != NO_LISTENER) {
            listener.suspended(c.export, qualifiedName(c.pendingImport));
        }
        boolean preempted = c.preempted();
        if (preempted) {
            preemptions.increment();
        } else {
            suspensions.increment();
        }
        synchronized (lock) {
            suspended++;
        }
        c.phase = Coroutine.Phase.SUSPENDED;
        CompletableFuture<long[]> pending = c.pending;
        if (c.isDone()) {
            pending.cancel(true); // given up while it was unwinding: release the host operation
        }
        if (LOG.isTraceEnabled()) {
            LOG.trace("instance {}: call to '{}' {} ({} bytes saved)", name, c.export, preempted ? "preempted"
                    : "suspended in " + c.pendingImport.module() + "." + c.pendingImport.name(), saved.frames().length);
        }
        pending.whenComplete(c); // resumeLater, through the coroutine
        if (preempted) {
            pending.complete(null); // preempted: its turn comes again after the queued work
        }
    }

    /** The host future {@code c} is suspended on completed: resume it (or drop it) in its turn. */
    void resumeLater(Coroutine c, long[] value, Throwable failure) {
        submit(() -> resumeAfter(c, value, failure));
    }

    /** A call given up before it finished: drop its state; a C guest's stack pointer goes back to where it was. */
    private void abandoned(Coroutine c) {
        c.dropSaved();
        if (stackPointer != null && !interleaved && terminated == null) {
            stackPointer.setValue(c.stackPointerAtStart);
        }
        finish(c);
    }

    /**
     * Grants the next segment its fuel: a quantum, or what is left of the budget when that is less, so
     * the budget is enforced at its own size, not rounded up to the end of a slice.
     */
    private void refill(Coroutine c) {
        segmentFuel = fuelBudget > 0 ? Math.max(0, Math.min(quantum, fuelBudget - c.fuelUsed)) : quantum;
        fuel.setValue(segmentFuel);
    }

    /** Charges the fuel this run segment used, and grants the next. */
    private void chargeFuel(Coroutine c) {
        long used = segmentFuel - fuel.getValue();
        c.fuelUsed += used;
        fuelUsed.add(used);
        refill(c);
    }

    /**
     * The guest's slice is used up: stop it if its budget or deadline is spent, it was cancelled or the
     * instance closed; otherwise preempt it (suspend, and resume after the work already queued on the
     * executor) or, where nothing waits, grant it the next slice.
     */
    private CompletableFuture<long[]> onFuelExhausted() {
        Coroutine root = notStopped();
        if (!yieldsAtQuantum || running.nested()) {
            chargeFuel(root); // and a new quantum
            return CompletableFuture.completedFuture(null);
        }
        // Completed by run() once the call has unwound, which requeues it behind the waiting work.
        return new CompletableFuture<>();
    }

    /**
     * The root of the running call, once its slice is used up, if it may go on; throws the termination
     * that stops it when its budget is spent, it was cancelled or timed out, or the instance closed.
     */
    private Coroutine notStopped() {
        Coroutine root = running.root;
        long used = root.fuelUsed + (segmentFuel - fuel.getValue());
        if (fuelBudget > 0 && used >= fuelBudget) {
            throw new FuelExhaustedException(root.export, fuelBudget);
        }
        if (root.isDone() || closed) {
            throw stopped(root);
        }
        return root;
    }

    /** Why a running call whose future is already done (or whose instance closed) is stopped. */
    private GuestTerminatedException stopped(Coroutine root) {
        try {
            root.getNow(null);
        } catch (CompletionException e) {
            if (e.getCause() instanceof GuestTerminatedException g && !g.instanceUsable()) {
                return g;
            }
        } catch (java.util.concurrent.CancellationException e) {
            return new CallCancelledException(root.export, true);
        }
        if (closed) {
            return new InstanceClosedException(root.export, "the instance was closed while the call ran", null);
        }
        return new CallCancelledException(root.export, true);
    }

    private void resumeAfter(Coroutine c, long[] value, Throwable failure) {
        synchronized (lock) {
            suspended--;
        }
        AsyncImport imp = c.pendingImport;
        c.pending = null;
        if (c.isDone()) {
            abandoned(c); // cancelled, timed out or closed while suspended
            return;
        }
        if (failure != null) {
            c.completeExceptionally(failure instanceof CompletionException && failure.getCause() != null
                    ? failure.getCause() : failure);
            abandoned(c);
            return;
        }
        if (!c.preempted()) {
            long[] checked;
            try {
                checked = checkResult(imp, value, c.export);
            } catch (LimitExceededException e) {
                c.completeExceptionally(e);
                abandoned(c);
                return;
            }
            value = checked;
        }
        c.resumeValue = value;
        listener.resuming(c.export);
        run(c, true);
    }

    /** An async import's values, checked against its type: null stands for none. */
    private static long[] checkResult(AsyncImport imp, long[] value, String export) {
        int expected = resultSlots(imp);
        if (value == null && expected == 0) {
            return new long[0];
        }
        if (value == null || value.length != expected) {
            throw new LimitExceededException(export, "async import " + imp.module() + "." + imp.name() + " completed with "
                    + (value == null ? "null" : value.length + " value(s)") + " but its type " + imp.type().returns()
                    + " needs " + expected + " slot(s); the call was failed before the guest saw it", null);
        }
        return value;
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
            refill(c.root);
            long[] value = c.resumeValue;
            c.resumeValue = null;
            if (listener != NO_LISTENER) {
                listener.resumed(c.export, qualifiedName(imp));
            }
            return value;
        }
        CompletableFuture<long[]> f = Objects.requireNonNull(imp.function().apply(inst, args),
                () -> "async import " + imp.module() + "." + imp.name() + " returned no future").toCompletableFuture();
        if (f.isDone()) {
            return checkResult(imp, join(f), c.export); // already complete: no need to suspend
        }
        if (c.nested()) {
            f.cancel(true);
            throw new IllegalStateException("async import " + imp.module() + "." + imp.name() + " cannot suspend "
                    + "a call made from inside a host function (a suspension cannot unwind through the host)");
        }
        c.pending = f;
        c.pendingImport = imp;
        controller.startUnwind();
        return new long[resultSlots(imp)];
    }

    /** The listener of an instance given none: import names are not even made for it. */
    private static final SuspensionListener NO_LISTENER = new SuspensionListener() { };

    /** {@code module.name} of each async import, for listeners; used by the thread running the instance only. */
    private final java.util.Map<AsyncImport, String> importNames = new java.util.IdentityHashMap<>();

    /** {@code module.name} of {@code imp}, made once per import (not per round trip, nor held per suspended call). */
    private String qualifiedName(AsyncImport imp) {
        return importNames.computeIfAbsent(imp, i -> i.module() + "." + i.name());
    }

    private static int resultSlots(AsyncImport imp) {
        int n = 0;
        for (ValType t : imp.type().returns()) {
            n += t.equals(ValType.V128) ? 2 : 1;
        }
        return n;
    }

    private Throwable translate(Throwable t, Coroutine c) {
        for (Throwable x = t; x != null; x = x.getCause()) {
            if (x instanceof GuestTerminatedException) {
                return x;
            }
        }
        AsyncifyController.Fault fault = controller.fault();
        if (fault != null && fault.kind() == AsyncifyAbi.FAULT_OVERFLOW) {
            return new AsyncifyStackOverflowException(c.export, prepared.functionName(fault.functionIndex()),
                    maxStackBytes, t);
        }
        if (fault != null && fault.kind() == AsyncifyAbi.FAULT_FOREIGN_FRAME) {
            return new ResumeMismatchException(c.export, prepared.functionName(fault.functionIndex()), t);
        }
        if (EngineErrors.isTrap(t)) {
            LOG.debug("instance {}: call to '{}' trapped", name, c.export, t);
            return new GuestTrapException(c.export, t);
        }
        LOG.debug("instance {}: call to '{}' failed", name, c.export, t);
        return t;
    }

    /**
     * Builder of {@link AsyncInstance}. One made by {@link AsyncInstance#builder(byte[])} (one-shot) takes
     * the module's settings (passed to {@link AsyncModule.Builder}), the imports (passed to
     * {@link Linker.Builder}) and the instance's own; one made by {@link InstancePre#builder()} takes only
     * the instance's own, and refuses the others with {@link IllegalStateException}.
     */
    public static final class Builder {
        private final InstancePre pre;
        private final AsyncModule.Builder module;
        private final Linker.Builder linker;
        private final List<AsyncImport> asyncImports = new ArrayList<>();
        private final List<String> coroutineGlobals = new ArrayList<>();
        private Executor executor;
        private SuspensionListener listener = NO_LISTENER;
        private long quantum;
        private long fuelBudget;
        private java.time.Duration deadline;
        private boolean interleaved;
        private Scheduler scheduler;
        private int priority;
        private int weight = 1;

        private Builder(AsyncModule.Builder module) {
            this.pre = null;
            this.module = module;
            this.linker = Linker.builder();
        }

        Builder(InstancePre pre) {
            this.pre = pre;
            this.module = null;
            this.linker = null;
        }

        /** The module's builder, in a one-shot builder; else refuses {@code option} (it is the module's). */
        private AsyncModule.Builder module(String option) {
            if (module == null) {
                throw new IllegalStateException(option + " is a setting of the module: give it to AsyncModule.builder, "
                        + "not to an instance of a module built already");
            }
            return module;
        }

        /** The linker's builder, in a one-shot builder; else refuses {@code option} (it is the linker's). */
        private Linker.Builder linker(String option) {
            if (linker == null) {
                throw new IllegalStateException(option + " is a setting of the linker: give it to Linker.builder, "
                        + "not to an instance of a module linked already");
            }
            return linker;
        }

        /** An import completing asynchronously; calls reaching it can suspend (see {@link Linker.Builder#withAsyncImport}). */
        public Builder withAsyncImport(AsyncImport asyncImport) {
            linker("withAsyncImport").withAsyncImport(asyncImport);
            asyncImports.add(asyncImport);
            return this;
        }

        /** An ordinary (synchronous) Endive host function. */
        public Builder withHostFunction(ImportFunction function) {
            linker("withHostFunction").withHostFunction(function);
            return this;
        }

        /** An imported global. */
        public Builder withGlobal(ImportGlobal global) {
            linker("withGlobal").withGlobal(global);
            return this;
        }

        /** An imported memory. */
        public Builder withMemory(ImportMemory memory) {
            linker("withMemory").withMemory(memory);
            return this;
        }

        /** An imported table. */
        public Builder withTable(ImportTable table) {
            linker("withTable").withTable(table);
            return this;
        }

        /** WASI preview 1 (Endive's implementation) with these options. */
        public Builder withWasi(WasiOptions options) {
            linker("withWasi").withWasi(options);
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
         * units in total (enforced at its own size, whatever the quantum).
         */
        public Builder withFuelBudget(long budget) {
            if (budget <= 0) {
                throw new IllegalArgumentException("fuel budget must be positive: " + budget);
            }
            this.fuelBudget = budget;
            return this;
        }

        /**
         * Terminates a call (with {@link DeadlineExceededException}) that has not finished after
         * {@code deadline}; a running call notices it at its next check (within a quantum, by default
         * {@link AsyncInstance#DEFAULT_QUANTUM}).
         */
        public Builder withDeadline(java.time.Duration deadline) {
            this.deadline = Objects.requireNonNull(deadline);
            return this;
        }

        /** See {@link AsyncModule.Builder#withMaxMemoryPages}. */
        public Builder withMaxMemoryPages(long pages) {
            module("withMaxMemoryPages").withMaxMemoryPages(pages);
            return this;
        }

        /** See {@link AsyncModule.Builder#withMaxTableElements}. */
        public Builder withMaxTableElements(long elements) {
            module("withMaxTableElements").withMaxTableElements(elements);
            return this;
        }

        /** See {@link AsyncModule.Builder#withMaxGuestBytes}. */
        public Builder withMaxGuestBytes(long bytes) {
            module("withMaxGuestBytes").withMaxGuestBytes(bytes);
            return this;
        }

        /** See {@link AsyncModule.Builder#withLoadLimits}. */
        public Builder withLoadLimits(io.asyncify4j.asyncify.LoadLimits limits) {
            module("withLoadLimits").withLoadLimits(limits);
            return this;
        }

        /**
         * Lets calls interleave: a call starts while others are suspended (coroutines of one instance).
         * Off by default, where an instance runs one call at a time and later calls wait in order (a
         * suspended call keeps its place). Guests that keep a C-style shadow stack in linear memory
         * (detected from their code: a mutable i32 global that function prologues decrement and epilogues
         * restore) are refused at build with {@link IllegalStateException}, since interleaved calls would
         * share that stack, unless {@link #withCoroutineGlobals} is given.
         */
        public Builder withInterleavedCalls() {
            this.interleaved = true;
            return this;
        }

        /** Observes suspensions and resumptions. */
        public Builder withListener(SuspensionListener listener) {
            this.listener = Objects.requireNonNull(listener);
            return this;
        }

        /**
         * On a {@link Scheduler}: this guest's slices are queued at {@code priority} (higher first; default
         * 0; waiting slices gain a level as they age, so none waits forever).
         */
        public Builder withPriority(int priority) {
            this.priority = priority;
            return this;
        }

        /** On a {@link Scheduler}: this guest's slices are {@code weight} times the quantum (default 1). */
        public Builder withWeight(int weight) {
            if (weight < 1) {
                throw new IllegalArgumentException("weight must be at least 1: " + weight);
            }
            this.weight = weight;
            return this;
        }

        int priority() {
            return priority;
        }

        int weight() {
            return weight;
        }

        long quantum() {
            return quantum;
        }

        boolean hasExecutor() {
            return executor != null;
        }

        /** Where guest code runs; the default uses daemon threads with a 512 MiB stack (reserved, committed as used). */
        public Builder withExecutor(Executor executor) {
            this.executor = Objects.requireNonNull(executor);
            return this;
        }

        /** See {@link AsyncModule.Builder#withEngine}. */
        public Builder withEngine(Engine engine) {
            module("withEngine").withEngine(engine);
            return this;
        }

        /** See {@link AsyncModule.Builder#withMachineFactory}. */
        public Builder withMachineFactory(java.util.function.Function<Instance, run.endive.runtime.Machine> factory) {
            module("withMachineFactory").withMachineFactory(factory);
            return this;
        }

        /** See {@link AsyncModule.Builder#withMaxAsyncifyStackBytes}. */
        public Builder withMaxAsyncifyStackBytes(long bytes) {
            module("withMaxAsyncifyStackBytes").withMaxAsyncifyStackBytes(bytes);
            return this;
        }

        /**
         * Exported mutable globals whose values belong to each call (saved at a suspension, restored at
         * its resume); declaring them also allows {@link #withInterleavedCalls interleaving} calls on a
         * module with a C shadow stack, which is then the guest's responsibility to keep apart (e.g. a stack
         * region per call).
         */
        public Builder withCoroutineGlobals(String... exportedGlobals) {
            coroutineGlobals.addAll(Arrays.asList(exportedGlobals));
            return this;
        }

        /** See {@link AsyncModule.Builder#withAlreadyAsyncified}. */
        public Builder withAlreadyAsyncified(DataRegion region) {
            module("withAlreadyAsyncified").withAlreadyAsyncified(region);
            return this;
        }

        Builder onScheduler(Scheduler scheduler) {
            this.scheduler = scheduler;
            return this;
        }

        /**
         * Makes the instance: for a one-shot builder, first the {@link AsyncModule} ({@link AsyncModule.Builder#build()}:
         * validation, limits, transform, compilation) and its link ({@link Linker#instantiatePre}); then
         * instantiates, runs the start function and, for a WASI reactor (a module exporting
         * {@value AsyncInstance#REACTOR_INITIALIZE} and no {@code _start}), {@value AsyncInstance#REACTOR_INITIALIZE}.
         * Both may suspend (build waits) and are stopped like any call.
         */
        public AsyncInstance build() {
            InstancePre p = pre;
            if (p == null) {
                p = linker.build().instantiatePre(module.withAsyncImports(asyncImports).build());
            }
            return new AsyncInstance(p, this);
        }
    }
}
