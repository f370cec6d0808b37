package io.asyncify4j.cli;

import io.asyncify4j.engine.Engines;
import io.asyncify4j.engine.ModuleExports;
import run.endive.runtime.ImportFunction;
import run.endive.wasi.WasiExitException;
import run.endive.wasi.WasiOptions;
import run.endive.wasm.WasmEngineException;
import run.endive.wasm.WasmModule;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;
import io.asyncify4j.host.AsyncInstance;
import io.asyncify4j.host.Engine;
import io.asyncify4j.host.FuelExhaustedException;
import io.asyncify4j.spectest.host.PrintSink;
import io.asyncify4j.spectest.host.SpectestHost;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "run",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Runs a module on the asyncify4j host runtime (asyncified at load time), with WASI preview 1",
            "(inheriting this process's stdio, environment and arguments after FILE) and the spectest module.",
            "Without --invoke, runs _start when the module exports it (a WASI command), else only instantiates.",
            ""
        },
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:ran to completion", "1:trap or runtime failure", "2:usage error or bad input file",
            "3:the fuel budget (--fuel) ran out",
            "N:the exit code a WASI program passed to proc_exit"})
final class RunCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "FILE", description = "A .wasm or .wat module.")
    Path file;

    @Parameters(index = "1..*", paramLabel = "ARG", description = "Arguments of --invoke, or WASI arguments.")
    List<String> args = new ArrayList<>();

    @Option(names = "--invoke", paramLabel = "EXPORT", description = "Call this exported function and print its results.")
    String invoke;

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

    @Override
    public Integer call() throws Exception {
        Logging.configure(verbose);
        PrintWriter out = spec.commandLine().getOut();
        byte[] wasm = ModuleFiles.wasmBytes(file);
        WasmModule parsed;
        try {
            parsed = Engines.parse(wasm);
        } catch (WasmEngineException e) {
            throw CliException.badInput("invalid module " + file + ": " + e.getMessage(), e);
        }
        List<String> wasiArgs = new ArrayList<>();
        wasiArgs.add(file.getFileName().toString());
        if (invoke == null) {
            wasiArgs.addAll(args);
        }
        AsyncInstance.Builder builder = AsyncInstance.builder(wasm)
                .withEngine(compiler ? Engine.COMPILER : Engine.INTERPRETER)
                .withWasi(WasiOptions.builder().inheritSystem().withArguments(wasiArgs).build());
        if (slice != null) {
            builder.withFuelQuantum(slice);
        }
        if (fuel != null) {
            builder.withFuelBudget(fuel);
        }
        for (ImportFunction f : SpectestHost.lenientImportValues(PrintSink.of(out), parsed).functions()) {
            builder.withHostFunction(f);
        }
        try (AsyncInstance instance = buildInstance(builder)) {
            String export = invoke != null ? invoke : ModuleExports.has(parsed, "_start") ? "_start" : null;
            if (export == null) {
                return Main.OK;
            }
            FunctionType type = instance.instance().exportType(export);
            long[] values = invoke != null ? ShellArgs.parse(spec, export, type, args) : new long[0];
            long[] results;
            try {
                results = instance.call(export, values).get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof WasiExitException exit) {
                    out.flush();
                    return exit.exitCode();
                }
                if (e.getCause() instanceof FuelExhaustedException f) {
                    throw new CliException(FUEL_EXHAUSTED, f.getMessage(), f);
                }
                throw new CliException(Main.FAILED, "trap: " + e.getCause().getMessage(), e.getCause());
            }
            List<ValType> returns = type.returns();
            for (int i = 0, slot = 0; i < returns.size(); i++) {
                out.println(SpectestHost.format(returns.get(i), results[slot]));
                slot += returns.get(i).equals(ValType.V128) ? 2 : 1;
            }
            out.flush();
            return Main.OK;
        }
    }

    /** Exit code when the fuel budget ran out. */
    static final int FUEL_EXHAUSTED = 3;

    private AsyncInstance buildInstance(AsyncInstance.Builder builder) {
        try {
            return builder.build();
        } catch (FuelExhaustedException e) {
            throw new CliException(FUEL_EXHAUSTED, e.getMessage() + " (in the start function)", e);
        } catch (WasiExitException e) {
            throw new CliException(e.exitCode(), "exited with code " + e.exitCode() + " during instantiation", e);
        } catch (WasmEngineException | io.asyncify4j.wasm.binary.WasmFormatException e) {
            throw new CliException(Main.FAILED, "cannot instantiate " + file + ": " + e.getMessage(), e);
        }
    }

}
