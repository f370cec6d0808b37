package io.asyncify4j.cli;

import io.asyncify4j.spectest.ExpectedFailures;
import io.asyncify4j.spectest.SpecMode;
import io.asyncify4j.spectest.SpecTestRunner;
import io.asyncify4j.spectest.Testsuite;
import io.asyncify4j.spectest.report.JsonReport;
import io.asyncify4j.spectest.report.SuiteReport;
import io.asyncify4j.spectest.report.TextReport;
import io.asyncify4j.spectest.wast.WastConverter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "spectest",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Runs WebAssembly spec-test scripts (.wast) and reports passed / failed / skipped commands.",
            "",
            "Scripts are converted with wabt's wast2json (cached by content); scripts wabt cannot convert"
                    + " are skipped with the reason. Failures listed in the bundled expected-failure list (known"
                    + " limitations of the engine, Endive 1.0.x) are reported as expected failures and counted as skipped."
                    + " The last line of output is the summary: N passed, M failed, K skipped.",
            ""
        },
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:no unexpected failure", "1:unexpected failures", "2:usage error or bad path"})
final class SpectestCommand implements Callable<Integer> {

    @Parameters(
            arity = "0..*",
            paramLabel = "PATH",
            description = "A .wast script or a directory (searched recursively). Default: the testsuite's core"
                    + " scripts plus proposals/{multi-memory,tail-call,threads,extended-const,exception-handling}.")
    List<Path> paths = new ArrayList<>();

    @Option(
            names = "--mode",
            split = ",",
            paramLabel = "MODE",
            description = "One of: ${COMPLETION-CANDIDATES} (plain: modules as the engine loads them; roundtrip: every"
                    + " module through WasmCodec.roundTrip first); comma-separated or repeated for several modes."
                    + " Default: plain.",
            converter = ModeConverter.class,
            completionCandidates = ModeCandidates.class)
    List<SpecMode> modes = new ArrayList<>();

    @Option(names = {"-v", "--verbose"}, description = "Show every failure (script, line, command, expected vs actual) and debug logs.")
    boolean verbose;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write a machine-readable report to FILE.")
    Path json;

    @Option(
            names = "--testsuite",
            paramLabel = "DIR",
            description = "The WebAssembly testsuite checkout. Default: $WASM_TESTSUITE, else ../shared/wasm-testsuite"
                    + " relative to the repository root.")
    Path testsuite;

    @Option(names = "--jobs", paramLabel = "N", description = "Scripts run in parallel (default: ${DEFAULT-VALUE}).")
    int jobs = Math.min(2, Runtime.getRuntime().availableProcessors());

    @Option(names = "--timeout", paramLabel = "SECONDS", description = "Time limit of one command (default: ${DEFAULT-VALUE}).")
    long timeoutSeconds = 120;

    @Option(names = "--expected-failures", paramLabel = "FILE", description = "Use this expected-failure list instead of the bundled one.")
    Path expectedFailuresFile;

    @Option(names = "--cache-dir", paramLabel = "DIR", description = "Where wast2json output is cached (default: a directory in java.io.tmpdir).")
    Path cacheDir;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Logging.configure(verbose);
        PrintWriter out = spec.commandLine().getOut();
        if (testsuite != null && !java.nio.file.Files.isDirectory(testsuite)) {
            throw CliException.badInput("testsuite directory not found: " + testsuite);
        }
        List<Path> hints = CliPaths.repoRootHints();
        Optional<Path> root = Testsuite.locate(testsuite, hints);
        List<Path> scripts;
        if (paths.isEmpty()) {
            if (root.isEmpty()) {
                out.println("WebAssembly testsuite not found (looked in: " + Testsuite.candidates(hints) + ");"
                        + " spec tests skipped. Use --testsuite DIR or set WASM_TESTSUITE.");
                out.println(SuiteReport.summaryLine(0, 0, 0));
                return Main.OK;
            }
            scripts = Testsuite.defaultSelection(root.get());
        } else {
            try {
                scripts = Testsuite.discover(paths);
            } catch (NoSuchFileException e) {
                throw CliException.badInput("no such file or directory: " + e.getFile());
            } catch (IllegalArgumentException e) {
                throw CliException.badInput(e.getMessage());
            }
            if (scripts.isEmpty()) {
                throw CliException.badInput("no .wast scripts in " + paths);
            }
        }
        ExpectedFailures expected = loadExpectedFailures();
        List<SpecMode> selected = modes.isEmpty() ? List.of(SpecMode.PLAIN) : List.copyOf(new LinkedHashSet<>(modes));

        SpecTestRunner runner = SpecTestRunner.builder()
                .testsuiteRoot(root.orElse(null))
                .converter(new WastConverter(cacheDir != null ? cacheDir : WastConverter.defaultCacheDir()))
                .expectedFailures(expected)
                .parallelism(jobs)
                .commandTimeout(Duration.ofSeconds(Math.max(1, timeoutSeconds)))
                .listener(r -> out.println(TextReport.progressLine(r)))
                .build();
        List<SuiteReport> reports = new ArrayList<>();
        for (SpecMode mode : selected) {
            out.printf("running %d script(s) in mode %s (%s)%n", scripts.size(), mode.id(), mode.description());
            out.flush();
            SuiteReport report = runner.run(scripts, mode);
            TextReport.writeModeReport(out, report, verbose);
            reports.add(report);
        }
        if (json != null) {
            JsonReport.write(reports, json);
            out.println("JSON report written to " + json);
        }
        out.println(SuiteReport.summaryLine(reports));
        out.flush();
        return reports.stream().allMatch(SuiteReport::successful) ? Main.OK : Main.FAILED;
    }

    private ExpectedFailures loadExpectedFailures() {
        if (expectedFailuresFile == null) {
            return ExpectedFailures.bundled();
        }
        try {
            return ExpectedFailures.load(expectedFailuresFile);
        } catch (NoSuchFileException e) {
            throw CliException.badInput("no such file: " + expectedFailuresFile);
        } catch (IOException | IllegalArgumentException e) {
            throw CliException.badInput("bad expected-failure list: " + e.getMessage());
        }
    }

    /** The mode names, for help texts. */
    static final class ModeCandidates implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return java.util.Arrays.stream(SpecMode.values()).map(SpecMode::id).iterator();
        }
    }

    static final class ModeConverter implements CommandLine.ITypeConverter<SpecMode> {
        @Override
        public SpecMode convert(String value) {
            try {
                return SpecMode.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
