package io.asyncify4j.cli;

import run.endive.runtime.Instance;
import run.endive.wasm.WasmEngineException;
import run.endive.wasm.InvalidException;
import run.endive.wasm.MalformedException;
import run.endive.wasm.UnlinkableException;
import run.endive.wasm.WasmModule;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;
import io.asyncify4j.spectest.ExpectedFailures;
import io.asyncify4j.spectest.ModePipeline;
import io.asyncify4j.spectest.SpecMode;
import io.asyncify4j.spectest.SpecTestRunner;
import io.asyncify4j.spectest.host.PrintSink;
import io.asyncify4j.spectest.host.SpectestHost;
import io.asyncify4j.spectest.report.CommandFailure;
import io.asyncify4j.spectest.report.ScriptResult;
import io.asyncify4j.spectest.report.SuiteReport;
import io.asyncify4j.spectest.wast.WastConverter;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "shell",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Runs a module or a whole spec script with the standard 'spectest' host module.",
            "",
            "A .wat/.wasm module is instantiated (running its start function); --invoke then calls an export."
                    + " A .wast script runs command by command; assertion failures are reported and make the exit"
                    + " code 1 (no expected-failure list applies here).",
            "Every spectest.print* argument is printed on its own line as VALUE : TYPE (e.g. 1 : i32).",
            "A module importing the pure-wasm asyncify runtime (asyncify.start_unwind, stop_unwind, start_rewind,"
                    + " stop_rewind, get_state) is asyncified at load time, as wasm-opt --asyncify would.",
            ""
        },
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:ran to completion", "1:trap, link error or assertion failures", "2:usage error or bad input file"})
final class ShellCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "FILE", description = "A .wat, .wasm or .wast file.")
    Path file;

    @Parameters(index = "1..*", paramLabel = "ARG", description = "Arguments of --invoke (i32, i64, f32, f64 literals).")
    List<String> args = new ArrayList<>();

    @Option(names = "--invoke", paramLabel = "EXPORT", description = "After instantiating a module, call this exported function and print its results.")
    String invoke;

    @Option(
            names = "--mode",
            paramLabel = "MODE",
            description = "One of: ${COMPLETION-CANDIDATES} (default: plain).",
            converter = SpectestCommand.ModeConverter.class,
            completionCandidates = SpectestCommand.ModeCandidates.class)
    SpecMode mode = SpecMode.PLAIN;

    @Option(names = {"-v", "--verbose"}, description = "Debug logs and stack traces.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Logging.configure(verbose);
        PrintWriter out = spec.commandLine().getOut();
        ModuleFiles.Kind kind = ModuleFiles.kind(file);
        if (kind == ModuleFiles.Kind.WAST) {
            if (invoke != null || !args.isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--invoke and arguments apply to modules, not scripts");
            }
            return runScript(out);
        }
        byte[] wasm = ModuleFiles.wasmBytes(file);
        if (mode == SpecMode.PLAIN && PureWasmAsyncify.importsRuntime(wasm)) {
            // A module driving asyncify itself (asyncify.start_unwind, ...) is asyncified at load time.
            wasm = PureWasmAsyncify.transform(wasm, file);
        }
        byte[] module = wasm;
        return BigStack.call(() -> runModule(module, out));
    }

    private int runScript(PrintWriter out) {
        ScriptResult r = SpecTestRunner.builder()
                .converter(new WastConverter(WastConverter.defaultCacheDir()))
                .expectedFailures(ExpectedFailures.none())
                .printSink(PrintSink.of(out))
                .parallelism(1)
                .build()
                .runScript(file, mode);
        if (!r.ran()) {
            throw CliException.badInput("cannot run " + file + ": " + r.skipReason());
        }
        for (CommandFailure f : r.failures()) {
            out.println("FAIL " + f.format());
        }
        if (verbose) {
            r.skips().forEach(s -> out.println("SKIP " + r.script() + ":" + s));
        }
        out.println(SuiteReport.summaryLine(r.passed(), r.failed(), r.skippedTotal()));
        out.flush();
        return r.failed() == 0 ? Main.OK : Main.FAILED;
    }

    private int runModule(byte[] wasm, PrintWriter out) {
        ModePipeline pipeline = mode.newPipeline();
        byte[] prepared;
        try {
            prepared = pipeline.prepare(wasm);
        } catch (RuntimeException e) {
            throw new CliException(Main.FAILED, mode.id() + " transform failed: " + describe(e), e);
        }
        Instance instance;
        try {
            WasmModule module = pipeline.parse(prepared);
            instance = pipeline.instantiate(module, SpectestHost.lenientImportValues(PrintSink.of(out), module));
        } catch (MalformedException | InvalidException e) {
            throw CliException.badInput("invalid module " + file + ": " + e.getMessage(), e);
        } catch (UnlinkableException e) {
            throw new CliException(Main.FAILED, "cannot link " + file + ": " + e.getMessage(), e);
        } catch (WasmEngineException e) {
            throw new CliException(Main.FAILED, "trap during instantiation: " + describe(e), e);
        }
        if (invoke == null) {
            return Main.OK;
        }
        FunctionType type;
        try {
            type = instance.exportType(invoke);
        } catch (RuntimeException e) {
            throw CliException.badInput("no exported function '" + invoke + "' in " + file);
        }
        if (type == null) {
            throw CliException.badInput("no exported function '" + invoke + "' in " + file);
        }
        long[] values = ShellArgs.parse(spec, invoke, type, args);
        long[] results;
        try {
            results = pipeline.invoke(instance, invoke, values);
        } catch (WasmEngineException e) {
            throw new CliException(Main.FAILED, "trap: " + describe(e), e);
        }
        List<ValType> returns = type.returns();
        for (int i = 0, slot = 0; i < returns.size(); i++) {
            ValType t = returns.get(i);
            out.println(SpectestHost.format(t, results == null ? 0 : results[slot]));
            slot += t.equals(ValType.V128) ? 2 : 1;
        }
        out.flush();
        return Main.OK;
    }

    private static String describe(Throwable e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
