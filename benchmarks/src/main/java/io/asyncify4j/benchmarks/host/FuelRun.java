package io.asyncify4j.benchmarks.host;

import io.asyncify4j.engine.Engines;
import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportFunction;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.wasi.WasiExitException;
import run.endive.wasi.WasiOptions;
import run.endive.wasi.WasiPreview1;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;
import io.asyncify4j.host.AsyncInstance;
import io.asyncify4j.host.Scheduler;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;

/**
 * One variant of one WASI workload, timed in a JVM of its own (see {@link HostBenchmarks#fuelOverhead}):
 * Endive's interpreter compiles one dispatch loop for every module it runs, so variants timed in one
 * JVM share a JIT profile and disturb each other. Loading (parse and instantiate; for the metered
 * variants also the transform) and running the guest are timed apart: the overhead of metering is a
 * cost of running, and the transform is paid once per instance, whatever the guest then runs. Prints
 * one line: {@code RESULT <median run ns> <min run ns> <preemptions> <fuel used> <sha-256 of the output>
 * <median load ns>}.
 *
 * <p>Usage: {@code FuelRun <workload.wasm> plain|metered|preempted <warmup> <rounds> <quantum>}.
 * <em>metered</em> runs on the default executor (slice ends do not suspend); <em>preempted</em> on a
 * one-worker {@link Scheduler}, unwound, requeued and rewound at every slice end.
 */
public final class FuelRun {
    private FuelRun() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: FuelRun <workload.wasm> plain|metered|preempted <warmup> <rounds> <quantum>");
            System.exit(2);
        }
        byte[] wasm = Files.readAllBytes(Path.of(args[0]));
        String variant = args[1];
        int warmup = Integer.parseInt(args[2]);
        int rounds = Integer.parseInt(args[3]);
        long quantum = Long.parseLong(args[4]);
        long[] times = new long[rounds];
        long[] loads = new long[rounds];
        long[] last = new long[2]; // preemptions, fuel used
        String output = null;
        try (Scheduler scheduler = variant.equals("preempted")
                ? Scheduler.builder().withWorkers(1).withQuantum(quantum).build() : null) {
            for (int r = -warmup; r < rounds; r++) {
                ByteArrayOutputStream stdout = new ByteArrayOutputStream();
                long[] loadAndRun = switch (variant) {
                    case "plain" -> runPlain(wasm, stdout);
                    case "metered", "preempted" -> runMetered(wasm, stdout, scheduler, quantum, last);
                    default -> throw new IllegalArgumentException("unknown variant " + variant);
                };
                if (r >= 0) {
                    loads[r] = loadAndRun[0];
                    times[r] = loadAndRun[1];
                }
                output = sha256(stdout.toByteArray());
            }
        }
        Arrays.sort(times);
        Arrays.sort(loads);
        System.out.printf(Locale.ROOT, "RESULT %d %d %d %d %s %d%n", times[rounds / 2], times[0], last[0], last[1], output,
                loads[rounds / 2]);
    }

    static HostFunction tick() {
        return new HostFunction("env", "async_tick", FunctionType.of(List.of(ValType.I32), List.of()), (inst, args) -> null);
    }

    private static WasiOptions wasiTo(ByteArrayOutputStream stdout) {
        return WasiOptions.builder().withStdout(stdout).withStderr(stdout).build();
    }

    /** Returns the nanoseconds spent loading and running. */
    private static long[] runPlain(byte[] wasm, ByteArrayOutputStream stdout) {
        try (WasiPreview1 wasi = WasiPreview1.builder().withOptions(wasiTo(stdout)).build()) {
            long t0 = System.nanoTime();
            List<ImportFunction> fns = new ArrayList<>(Arrays.asList(wasi.toHostFunctions()));
            fns.add(tick());
            Instance instance = Engines.builder(Engines.parse(wasm), ImportValues.builder().withFunctions(fns).build(),
                    Engines.Kind.INTERPRETER).withStart(false).build();
            long t1 = System.nanoTime();
            try {
                instance.export("_start").apply();
            } catch (WasiExitException e) {
                // proc_exit: the output is what counts
            }
            return new long[] {t1 - t0, System.nanoTime() - t1};
        }
    }

    /** Returns the nanoseconds spent loading (transform included) and running. */
    private static long[] runMetered(byte[] wasm, ByteArrayOutputStream stdout, Scheduler scheduler, long quantum,
            long[] metrics) throws Exception {
        long t0 = System.nanoTime();
        AsyncInstance.Builder builder = AsyncInstance.builder(wasm).withWasi(wasiTo(stdout)).withHostFunction(tick());
        builder = scheduler != null ? scheduler.guest(builder) : builder.withFuelQuantum(quantum);
        try (AsyncInstance guest = builder.build()) {
            long t1 = System.nanoTime();
            try {
                guest.call("_start").get();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof WasiExitException)) {
                    throw e;
                }
            }
            long t2 = System.nanoTime();
            metrics[0] = guest.metrics().preemptions();
            metrics[1] = guest.metrics().fuelUsed();
            return new long[] {t1 - t0, t2 - t1};
        }
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
