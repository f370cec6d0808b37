package io.asyncify4j.benchmarks;

import io.asyncify4j.engine.Engines;
import run.endive.runtime.ExportFunction;
import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportFunction;
import run.endive.runtime.ImportGlobal;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.wasi.WasiExitException;
import run.endive.wasi.WasiOptions;
import run.endive.wasi.WasiPreview1;
import run.endive.wasm.WasmModule;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;
import io.asyncify4j.asyncify.AsyncifyAbi;
import io.asyncify4j.engine.SuspendPolicy;
import io.asyncify4j.engine.SuspensionDriver;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import run.endive.runtime.Machine;

/**
 * Runs a WASI command module ({@code _start}) on Endive's interpreter or compiler with
 * {@code env.async_tick} provided: plainly, or asyncified by us under a {@link SuspensionDriver} whose
 * policy decides where {@code async_tick} suspends (and, for a metered module, refills its fuel). WASI
 * host functions never suspend. On the compiler the module is compiled once, when the runner is made,
 * and every run instantiates from those classes. The {@code _start} call is timed in wall-clock time
 * and in the running thread's CPU time; instantiation is timed apart.
 */
public final class WasiRunner {
    public static final String TICK_MODULE = "env";
    public static final String TICK_NAME = "async_tick";

    /** What one run produced. */
    public record Outcome(byte[] stdout, byte[] stderr, int exitCode, long ticks, long suspensions, long nanos,
                          long cpuNanos, long instantiateNanos) {
        /** Same observable behaviour: output streams, exit code and number of async_tick calls. */
        public boolean sameBehaviour(Outcome o) {
            return Arrays.equals(stdout, o.stdout) && Arrays.equals(stderr, o.stderr) && exitCode == o.exitCode
                    && ticks == o.ticks;
        }
    }

    private final WasmModule module;
    private final boolean ours;
    private final Supplier<SuspendPolicy> policy;
    private final List<String> argv;
    /** Fuel units per refill of a metered module, 0 when it is not metered. */
    private final long quantum;
    /** The module compiled by the engine's compiler, null on the interpreter. */
    private final Function<Instance, Machine> compiled;

    private WasiRunner(byte[] wasm, boolean ours, Supplier<SuspendPolicy> policy, long quantum, List<String> argv,
            Engines.Kind engine) {
        this.module = Engines.parse(wasm);
        this.ours = ours;
        this.policy = policy;
        this.quantum = quantum;
        this.argv = List.copyOf(argv);
        this.compiled = engine == Engines.Kind.COMPILER ? Engines.compile(module) : null;
    }

    /** A module that is not ours to drive (the original, or Binaryen's output): async_tick returns at once. */
    public static WasiRunner plain(byte[] wasm, List<String> argv) {
        return plain(wasm, argv, Engines.Kind.INTERPRETER);
    }

    /** {@link #plain(byte[], List)} on {@code engine}. */
    public static WasiRunner plain(byte[] wasm, List<String> argv, Engines.Kind engine) {
        return new WasiRunner(wasm, false, null, 0, argv, engine);
    }

    /**
     * A module asyncified by us with the runtime options (imported state, deferred start, secondary data
     * memory, v128 via host): {@code async_tick} is wrapped by a fresh driver with a fresh policy per run.
     */
    public static WasiRunner asyncified(byte[] wasm, Supplier<SuspendPolicy> policy, List<String> argv) {
        return asyncified(wasm, policy, argv, Engines.Kind.INTERPRETER);
    }

    /** {@link #asyncified(byte[], Supplier, List)} on {@code engine}. */
    public static WasiRunner asyncified(byte[] wasm, Supplier<SuspendPolicy> policy, List<String> argv,
            Engines.Kind engine) {
        return new WasiRunner(wasm, true, policy, 0, argv, engine);
    }

    /**
     * A module asyncified by us with the runtime options and fuel metering, as the host runs every guest:
     * the driver refills {@code quantum} units whenever the guest runs out, and suspends where
     * {@code policy} says (at async_tick calls and fuel refills alike).
     */
    public static WasiRunner metered(byte[] wasm, Supplier<SuspendPolicy> policy, long quantum, List<String> argv,
            Engines.Kind engine) {
        if (quantum < 1) {
            throw new IllegalArgumentException("quantum must be positive");
        }
        return new WasiRunner(wasm, true, policy, quantum, argv, engine);
    }

    /** A policy suspending at every {@code every}-th point. */
    public static SuspendPolicy every(long every) {
        return new SuspendPolicy() {
            private long seen;

            @Override
            public boolean shouldSuspend() {
                return ++seen % every == 0;
            }
        };
    }

    public Outcome run() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        long[] ticks = {0};
        HostFunction tick = new HostFunction(TICK_MODULE, TICK_NAME, FunctionType.of(List.of(ValType.I32), List.of()),
                (instance, args) -> {
                    ticks[0]++;
                    return null;
                });
        WasiOptions options = WasiOptions.builder().withStdout(out).withStderr(err).withArguments(argv).build();
        SuspensionDriver driver = ours ? new SuspensionDriver(policy.get()) : null;
        try (WasiPreview1 wasi = WasiPreview1.builder().withOptions(options).build()) {
            List<ImportFunction> functions = new ArrayList<>(List.of(wasi.toHostFunctions()));
            List<ImportGlobal> globals = new ArrayList<>();
            if (ours) {
                functions.add(driver.suspending(tick));
                functions.addAll(SuspensionDriver.v128Imports());
                globals.add(driver.stateImport());
                if (quantum > 0) {
                    globals.add(driver.fuelImport(quantum));
                    functions.add(driver.fuelExhausted());
                }
            } else {
                functions.add(tick);
            }
            ImportValues imports = ImportValues.builder().withFunctions(functions).withGlobals(globals).build();
            // withStart(false): the engine would run _start inside build(); we run (and time) it below.
            long i0 = System.nanoTime();
            Instance instance = (compiled != null ? Engines.builder(module, imports, compiled)
                    : Engines.builder(module, imports, Engines.Kind.INTERPRETER)).withStart(false).build();
            long instantiateNanos = System.nanoTime() - i0;
            if (ours && hasExport(AsyncifyAbi.DEFERRED_START_EXPORT)) {
                driver.call(instance.export(AsyncifyAbi.DEFERRED_START_EXPORT));
            }
            ExportFunction start = instance.export("_start");
            int exitCode = 0;
            long c0 = cpuTime();
            long t0 = System.nanoTime();
            try {
                if (ours) {
                    driver.call(start);
                } else {
                    start.apply();
                }
            } catch (WasiExitException e) {
                exitCode = e.exitCode();
            }
            long nanos = System.nanoTime() - t0;
            long cpuNanos = cpuTime() - c0;
            return new Outcome(out.toByteArray(), err.toByteArray(), exitCode, ticks[0],
                    ours ? driver.suspensions() : 0, nanos, cpuNanos, instantiateNanos);
        }
    }

    private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

    /** CPU time of the current thread (not counting time other processes took the core), or 0 if unsupported. */
    private static long cpuTime() {
        return THREADS.isCurrentThreadCpuTimeSupported() ? THREADS.getCurrentThreadCpuTime() : 0;
    }

    private boolean hasExport(String name) {
        for (int i = 0; i < module.exportSection().exportCount(); i++) {
            if (module.exportSection().getExport(i).name().equals(name)) {
                return true;
            }
        }
        return false;
    }
}
