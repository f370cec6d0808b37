package io.asyncify4j.cli;

import io.asyncify4j.asyncify.Asyncify;
import io.asyncify4j.asyncify.AsyncifyOptions;
import io.asyncify4j.asyncify.AsyncifyReport;
import io.asyncify4j.wasm.binary.WasmFormatException;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.ModuleModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "transform",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Asyncifies a module (the JVM's wasm-opt --asyncify): the output can be paused and resumed with",
            "Binaryen's ABI (asyncify_start_unwind/stop_unwind/start_rewind/stop_rewind/get_state exports,",
            "__asyncify_state/__asyncify_data globals). Function lists take name-section names or indices,",
            "import lists module.name patterns with * globs; any list entry @FILE reads entries from a file.",
            ""
        },
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:written", "2:usage error, bad input file or options the transform rejects"})
final class TransformCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "IN", description = "A .wasm or .wat module.")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT", description = "Where to write the asyncified .wasm.")
    Path output;

    @Option(names = "--imports", split = ",", paramLabel = "PATTERN",
            description = "Imports that may unwind (default: all imports), e.g. env.sleep,wasi_*.fd_read")
    List<String> imports;

    @Option(names = "--ignore-imports", description = "No import may unwind.")
    boolean ignoreImports;

    @Option(names = "--ignore-indirect", description = "Indirect calls (call_indirect, call_ref) never unwind.")
    boolean ignoreIndirect;

    @Option(names = "--only", split = ",", paramLabel = "FUNC", description = "Instrument exactly these functions.")
    List<String> only;

    @Option(names = "--remove", split = ",", paramLabel = "FUNC", description = "Never instrument these functions.")
    List<String> remove = List.of();

    @Option(names = "--add", split = ",", paramLabel = "FUNC", description = "Always instrument these functions.")
    List<String> add = List.of();

    @Option(names = "--propagate-addlist", description = "Callers of --add functions are instrumented too.")
    boolean propagateAddList;

    @Option(names = "--asserts", description = "Uninstrumented functions trap (with a named fault) if the state changes under them.")
    boolean asserts;

    @Option(names = "--secondary-memory", description = "Keep asyncify data in a memory the transform adds (multi-memory) instead of memory 0.")
    boolean secondaryMemory;

    @Option(names = "--data-pages", paramLabel = "INITIAL:MAX", description = "Size of the secondary data memory in 64 KiB pages (default 1:16).")
    String dataPages;

    @Option(names = {"-v", "--verbose"}, description = "Print which functions were instrumented and why.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Logging.configure(false);
        PrintWriter out = spec.commandLine().getOut();
        byte[] wasm = ModuleFiles.wasmBytes(input);
        AsyncifyOptions options = options();
        ModuleModel module;
        AsyncifyReport report;
        try {
            module = WasmCodec.decode(wasm);
            report = Asyncify.transform(module, options);
        } catch (WasmFormatException e) {
            throw CliException.badInput("cannot asyncify " + input + ": " + e.getMessage(), e);
        }
        byte[] result = WasmCodec.encode(module);
        try {
            Files.write(output, result);
        } catch (IOException e) {
            throw CliException.badInput("cannot write " + output + ": " + e.getMessage(), e);
        }
        if (verbose) {
            out.print(report.describe());
        } else {
            report.warnings().forEach(w -> out.println("warning: " + w));
        }
        out.printf("wrote %s: %d bytes (input %d bytes), %d function(s) instrumented%n", output, result.length,
                wasm.length, report.instrumented().size());
        out.flush();
        return Main.OK;
    }

    private AsyncifyOptions options() {
        AsyncifyOptions.Builder b = AsyncifyOptions.builder()
                .pureWasm(true) // as wasm-opt --asyncify: a module may import the asyncify runtime itself
                .ignoreImports(ignoreImports)
                .ignoreIndirect(ignoreIndirect)
                .removeList(remove)
                .addList(add)
                .propagateAddList(propagateAddList)
                .asserts(asserts);
        if (imports != null) {
            b.unwindingImports(imports);
        }
        if (only != null) {
            b.onlyList(only);
        }
        if (secondaryMemory) {
            b.dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY);
        }
        if (dataPages != null) {
            String[] parts = dataPages.split(":");
            try {
                b.secondaryMemoryPages(Integer.parseInt(parts[0]), Integer.parseInt(parts[parts.length - 1]));
            } catch (NumberFormatException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--data-pages takes INITIAL:MAX, e.g. 1:16");
            }
        }
        try {
            return b.build();
        } catch (WasmFormatException e) {
            throw CliException.badInput(e.getMessage(), e);
        }
    }
}
