package io.asyncify4j.cli;

import io.asyncify4j.engine.Engines;
import run.endive.runtime.ImportFunction;
import run.endive.wasi.WasiExitException;
import run.endive.wasi.WasiOptions;
import run.endive.wasm.WasmEngineException;
import run.endive.wasm.WasmModule;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;
import io.asyncify4j.asyncify.ReservedImportException;
import io.asyncify4j.host.AsyncImport;
import io.asyncify4j.host.AsyncInstance;
import io.asyncify4j.host.Engine;
import io.asyncify4j.host.FuelExhaustedException;
import io.asyncify4j.host.GuestMetrics;
import io.asyncify4j.spectest.host.PrintSink;
import io.asyncify4j.spectest.host.SpectestHost;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "run",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Runs a module on the asyncify4j host runtime (asyncified at load time), with WASI preview 1 and the"
                    + " spectest module. Options go before FILE: everything after FILE is the guest's (its WASI"
                    + " arguments, after FILE's name as argv[0]; or the arguments of --invoke).",
            "WASI: this process's stdin, stdout and stderr; no environment variables and no directories unless"
                    + " given with --env, --inherit-env and --dir (as wasmtime).",
            "Without --invoke, runs _start when the module exports it (a WASI command), else only instantiates."
                    + " A reactor (exports _initialize and no _start) has _initialize called first.",
            "A module asyncified already (it exports Binaryen's asyncify_start_unwind ... functions: the output of"
                    + " wasm-opt --asyncify, or of asyncify4j transform) is driven as it is, not transformed again;"
                    + " its asyncify data goes where --asyncify-data says; it is metered (--fuel), never preempted."
                    + " Refused (exit 2): the host runtime's own"
                    + " transform output (it imports asyncify4j.*) and transform --secondary-memory output.",
            ""
        },
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:ran to completion", "1:trap or runtime failure", "2:usage error or bad input file",
            "3:the fuel budget (--fuel) ran out",
            "N:the exit code a WASI program passed to proc_exit"})
final class RunCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "FILE", description = "A .wasm or .wat module.")
    Path file;

    @Parameters(index = "1..*", paramLabel = "ARG",
            description = "Arguments of --invoke (one per parameter), or the WASI program's arguments.")
    List<String> args = new ArrayList<>();

    @Option(names = "--invoke", paramLabel = "EXPORT", description = "Call this exported function and print its results.")
    String invoke;

    @Option(names = "--dir", paramLabel = "HOST[::GUEST]",
            description = "Give the guest the host directory HOST, as GUEST (default: HOST as written). Repeatable.")
    List<String> dirs = new ArrayList<>();

    @Option(names = "--env", paramLabel = "NAME[=VALUE]",
            description = "Set a guest environment variable; NAME alone passes this process's value through (if set). "
                    + "Repeatable.")
    List<String> env = new ArrayList<>();

    @Option(names = "--inherit-env", description = "Pass this process's whole environment to the guest (--env entries override).")
    boolean inheritEnv;

    @Option(names = "--async-sleep", paramLabel = "MODULE.NAME",
            description = "Implement this import, taking an i32 or i64 count of milliseconds, as an async sleep: the "
                    + "guest is suspended (its stack unwound, no thread held) and resumed when a timer fires (a sleep of 0, or one "
                    + "whose time is up before the guest could unwind, does not suspend). Repeatable.")
    List<String> asyncSleeps = new ArrayList<>();

    @Option(names = "--asyncify-data", paramLabel = "ADDR:SIZE|ALLOCATOR:SIZE",
            description = "For a module asyncified already: its asyncify data (the saved stack) goes in SIZE bytes at "
                    + "ADDR of its memory 0 (a region it does not use), or in SIZE bytes its ALLOCATOR export (e.g. "
                    + "malloc) returns at instantiation. Default: malloc:" + GuestModule.DEFAULT_DATA_SIZE
                    + " when the module exports malloc.")
    String asyncifyData;

    @Option(names = "--stats", description = "After the run, print to stderr the suspensions, preemptions, fuel used and wall time.")
    boolean stats;

    @Option(names = "--compiler", description = "Run on Endive's compiler instead of its interpreter.")
    boolean compiler;

    @Option(names = "--fuel", paramLabel = "N",
            description = "Total fuel budget (at least one unit per wasm instruction run, often several: a static, deterministic upper bound); the run stops with exit code 3 when it is used up.")
    Long fuel;

    @Option(names = "--slice", paramLabel = "N",
            description = "Fuel per time slice: the deadline and cancellation are checked every N units "
                    + "(default 1000000 with --fuel, a few ms of guest code; the budget is enforced at its own size). "
                    + "A lone guest is not paused between its slices; guests sharing "
                    + "workers (the Scheduler API) are.")
    Long slice;

    @Option(names = {"-v", "--verbose"}, description = "Debug logs and stack traces.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The guest's stdio (set by {@link Main}). */
    InputStream stdin = System.in;
    OutputStream stdout = System.out;
    OutputStream stderr = System.err;

    /** Exit code when the fuel budget ran out. */
    static final int FUEL_EXHAUSTED = 3;

    private static final String START = "_start";

    @Override
    public Integer call() throws Exception {
        Logging.configure(verbose);
        long startNanos = System.nanoTime();
        requirePositive("--fuel", fuel);
        requirePositive("--slice", slice);
        PrintWriter out = spec.commandLine().getOut();
        byte[] wasm = ModuleFiles.wasmBytes(file);
        GuestModule guest = GuestModule.of(file, wasm);
        WasmModule parsed;
        try {
            parsed = Engines.parse(wasm);
        } catch (WasmEngineException e) {
            throw CliException.badInput("invalid module " + file + ": " + e.getMessage(), e);
        }
        // Usage errors of --invoke are found before anything runs.
        long[] values = invoke == null ? new long[0]
                : ShellArgs.parse(spec, invoke, GuestModule.typeNames(guest.exportType(invoke).params()), args);
        AsyncInstance.Builder builder = AsyncInstance.builder(wasm)
                .withEngine(compiler ? Engine.COMPILER : Engine.INTERPRETER)
                .withWasi(wasiOptions());
        GuestModule.Asyncified asyncified = guest.asyncified();
        if (asyncified == GuestModule.Asyncified.BINARYEN_ABI) {
            // Not transformed again, but metered all the same: --fuel stops it, it is never preempted.
            builder.withAlreadyAsyncified(guest.dataRegion(asyncifyData, "--asyncify-data"));
        } else if (asyncifyData != null) {
            throw CliException.badInput("--asyncify-data is for modules asyncified already; " + file.getFileName()
                    + " is asyncified at load time (its data is kept out of its memory)");
        }
        for (String name : asyncSleeps) {
            builder.withAsyncImport(sleepImport(name, guest));
        }
        if (slice != null) {
            builder.withFuelQuantum(slice);
        }
        if (fuel != null) {
            builder.withFuelBudget(fuel);
        }
        for (ImportFunction f : SpectestHost.lenientImportValues(PrintSink.of(out), parsed).functions()) {
            builder.withHostFunction(f);
        }
        AsyncInstance instance = buildInstance(builder);
        try (instance) {
            String export = invoke != null ? invoke : guest.exportsFunction(START) ? START : null;
            FunctionType type = export == null ? null : instance.instance().exportType(export);
            if (export == null) {
                return Main.OK;
            }
            out.flush();
            long[] results = call(instance, export, values);
            List<ValType> returns = type.returns();
            for (int i = 0, slot = 0; i < returns.size(); i++) {
                out.println(SpectestHost.format(returns.get(i), results[slot]));
                slot += returns.get(i).equals(ValType.V128) ? 2 : 1;
            }
            out.flush();
            return Main.OK;
        } catch (WasiExitException exit) {
            out.flush();
            return exit.exitCode();
        } finally {
            if (stats) {
                printStats(instance.metrics(), System.nanoTime() - startNanos);
            }
        }
    }

    private void requirePositive(String option, Long value) {
        if (value != null && value <= 0) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    option + " takes a positive number of fuel units, got " + value);
        }
    }

    private WasiOptions wasiOptions() {
        List<String> wasiArgs = new ArrayList<>();
        wasiArgs.add(file.getFileName().toString());
        if (invoke == null) {
            wasiArgs.addAll(args);
        }
        WasiOptions.Builder wasi = WasiOptions.builder()
                .withStdin(stdin)
                .withStdout(stdout)
                .withStderr(stderr)
                .withArguments(wasiArgs);
        if (inheritEnv) {
            System.getenv().forEach(wasi::withEnvironment);
        }
        for (String e : env) {
            int eq = e.indexOf('=');
            String name = eq < 0 ? e : e.substring(0, eq);
            if (name.isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--env takes NAME or NAME=VALUE, got '" + e + "'");
            }
            String value = eq < 0 ? System.getenv(name) : e.substring(eq + 1);
            if (value != null) {
                wasi.withEnvironment(name, value);
            }
        }
        for (String d : dirs) {
            int sep = d.indexOf("::");
            String host = sep < 0 ? d : d.substring(0, sep);
            String guestPath = sep < 0 ? d : d.substring(sep + 2);
            if (host.isEmpty() || guestPath.isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--dir takes HOST or HOST::GUEST, got '" + d + "'");
            }
            Path hostPath = Path.of(host);
            if (!Files.isDirectory(hostPath)) {
                throw CliException.badInput("--dir " + d + ": no such directory: " + host);
            }
            wasi.withDirectory(guestPath, hostPath);
        }
        return wasi.build();
    }

    /** {@code --async-sleep MODULE.NAME}: a timer completes the import after its argument's milliseconds. */
    private static AsyncImport sleepImport(String qualifiedName, GuestModule guest) {
        GuestModule.FunctionImport imported = guest.functionImport(qualifiedName, "--async-sleep");
        io.asyncify4j.wasm.model.FuncType type = imported.type();
        boolean i64 = type.params().equals(List.of(io.asyncify4j.wasm.model.ValType.I64));
        if (!type.results().isEmpty() || !(i64 || type.params().equals(List.of(io.asyncify4j.wasm.model.ValType.I32)))) {
            throw CliException.badInput("--async-sleep " + qualifiedName + ": its type is " + GuestModule.describe(type)
                    + ", a sleep takes (i32) -> () or (i64) -> () (milliseconds)");
        }
        return AsyncImport.of(imported.module(), imported.name(), FunctionType.of(List.of(i64 ? ValType.I64 : ValType.I32), List.of()),
                a -> sleep(i64 ? Math.max(0, a[0]) : Integer.toUnsignedLong((int) a[0])));
    }

    private static CompletableFuture<long[]> sleep(long millis) {
        if (millis == 0) {
            return CompletableFuture.completedFuture(null); // complete already: the guest runs on
        }
        return CompletableFuture.supplyAsync(() -> null, CompletableFuture.delayedExecutor(millis, TimeUnit.MILLISECONDS));
    }

    private AsyncInstance buildInstance(AsyncInstance.Builder builder) {
        try {
            return builder.build();
        } catch (FuelExhaustedException e) {
            throw new CliException(FUEL_EXHAUSTED, e.getMessage() + " (in the start function)", e);
        } catch (WasiExitException e) {
            throw new CliException(e.exitCode(), "exited with code " + e.exitCode() + " during instantiation", e);
        } catch (ReservedImportException e) {
            throw CliException.badInput("cannot run " + file + ": " + e.getMessage(), e);
        } catch (WasmEngineException | io.asyncify4j.wasm.binary.WasmFormatException e) {
            String hint = String.valueOf(e.getMessage()).contains("unknown import")
                    ? " (run provides WASI preview 1, the spectest module and the --async-sleep imports)" : "";
            throw new CliException(Main.FAILED, "cannot instantiate " + file + ": " + e.getMessage() + hint, e);
        }
    }

    /** Calls an export; a WASI exit is rethrown as it is, other failures become one-line CLI errors. */
    private static long[] call(AsyncInstance instance, String export, long[] values) throws InterruptedException {
        try {
            return instance.call(export, values).get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof WasiExitException exit) {
                throw exit;
            }
            if (e.getCause() instanceof FuelExhaustedException f) {
                throw new CliException(FUEL_EXHAUSTED, f.getMessage(), f);
            }
            throw new CliException(Main.FAILED, "trap: " + e.getCause().getMessage(), e.getCause());
        }
    }

    /** Every module is metered, including those asyncified already. */
    private void printStats(GuestMetrics m, long wallNanos) {
        PrintWriter err = spec.commandLine().getErr();
        err.printf("stats: %,d suspensions, %,d preemptions, fuel used %,d, wall time %.3f s (guest code %.3f s)%n",
                m.suspensions(), m.preemptions(), m.fuelUsed(), wallNanos / 1e9, m.runNanos() / 1e9);
        err.flush();
    }
}
