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
import java.util.function.Supplier;

/**
 * Runs a WASI command module ({@code _start}) on Endive's interpreter with {@code env.async_tick}
 * provided: plainly, or asyncified by us under a {@link SuspensionDriver} whose policy decides where
 * {@code async_tick} suspends. WASI host functions never suspend. Only the {@code _start} call is
 * timed (instantiation is not), in wall-clock time and in the running thread's CPU time.
 */
public final class WasiRunner {
    public static final String TICK_MODULE = "env";
    public static final String TICK_NAME = "async_tick";

    /** What one run produced. */
    public record Outcome(byte[] stdout, byte[] stderr, int exitCode, long ticks, long suspensions, long nanos,
                          long cpuNanos) {
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

    private WasiRunner(byte[] wasm, boolean ours, Supplier<SuspendPolicy> policy, List<String> argv) {
        this.module = Engines.parse(wasm);
        this.ours = ours;
        this.policy = policy;
        this.argv = List.copyOf(argv);
    }

    /** A module that is not ours to drive (the original, or Binaryen's output): async_tick returns at once. */
    public static WasiRunner plain(byte[] wasm, List<String> argv) {
        return new WasiRunner(wasm, false, null, argv);
    }

    /**
     * A module asyncified by us with the runtime options (imported state, deferred start, secondary data
     * memory, v128 via host): {@code async_tick} is wrapped by a fresh driver with a fresh policy per run.
     */
    public static WasiRunner asyncified(byte[] wasm, Supplier<SuspendPolicy> policy, List<String> argv) {
        return new WasiRunner(wasm, true, policy, argv);
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
            } else {
                functions.add(tick);
            }
            ImportValues imports = ImportValues.builder().withFunctions(functions).withGlobals(globals).build();
            // withStart(false): the engine would run _start inside build(); we run (and time) it below.
            Instance instance = Engines.builder(module, imports, Engines.Kind.INTERPRETER).withStart(false).build();
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
                    ours ? driver.suspensions() : 0, nanos, cpuNanos);
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
