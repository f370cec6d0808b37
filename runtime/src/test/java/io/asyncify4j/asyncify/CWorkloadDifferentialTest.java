package io.asyncify4j.asyncify;

import io.asyncify4j.engine.ModuleExports;
import static org.assertj.core.api.Assertions.assertThat;

import run.endive.runtime.ExportFunction;
import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportFunction;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.wasi.WasiExitException;
import run.endive.wasi.WasiOptions;
import run.endive.wasi.WasiPreview1;
import run.endive.wasm.Parser;
import run.endive.wasm.WasmModule;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;
import io.asyncify4j.engine.SuspendPolicy;
import io.asyncify4j.engine.SuspensionDriver;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Differential test on real C programs: the WASI workloads in {@code workloads/} (fannkuch-redux,
 * nbody, sort+hash, compiled by clang) are run plainly on Endive, where {@code env.async_tick} returns
 * at once, and asyncified with {@code env.async_tick} as the only unwinding import, under a
 * {@link SuspensionDriver} that suspends the guest at every {@code async_tick} call and resumes it at
 * once. Stdout, stderr, exit code and the sequence of {@code async_tick} arguments must be identical,
 * and the number of suspensions must equal the number of {@code async_tick} calls. WASI host
 * functions never suspend (they are not in the unwinding list).
 *
 * <p>nbody and sort_hash run at their default sizes, fannkuch once instead of twice, so that the
 * suspensions (each one unwinds and rewinds the guest's whole stack) stay within a few seconds.
 */
class CWorkloadDifferentialTest {
    private static final String TICK_MODULE = "env";
    private static final String TICK_NAME = "async_tick";
    private static final Pattern TICKS_LINE = Pattern.compile("(?m)^ticks = (\\d+)$");

    static Stream<Arguments> workloads() {
        return Stream.of(
                Arguments.of("fannkuch.wasm", List.of("8", "1")), // 180260 ticks, one per flip (default: twice that)
                Arguments.of("nbody.wasm", List.of()),              // 100000 ticks, one per step
                Arguments.of("sort_hash.wasm", List.of()));         // 20396 ticks, most inside the sort's recursion
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("workloads")
    void asyncifiedRunSuspendingAtEveryTickMatchesPlainRun(String file, List<String> args) throws IOException {
        byte[] wasm = Files.readAllBytes(workloadsDir().resolve(file));

        Run plain = runPlain(wasm, file, args);
        assertThat(plain.ticks).as("the workload calls async_tick").isPositive();
        assertThat(ticksPrinted(plain)).as("the guest's own count of async_tick calls").isEqualTo(plain.ticks);

        byte[] transformed = Asyncify.transform(wasm, asyncifyOptions());
        Run async = runAsyncified(transformed, file, args, SuspendPolicy.always());

        assertThat(async.stdout()).as("stdout").isEqualTo(plain.stdout());
        assertThat(async.stderr()).as("stderr").isEqualTo(plain.stderr());
        assertThat(async.exitCode).as("exit code").isEqualTo(plain.exitCode);
        assertThat(async.ticks).as("async_tick calls").isEqualTo(plain.ticks);
        assertThat(async.tickArgsHash).as("async_tick arguments, in order").isEqualTo(plain.tickArgsHash);
        assertThat(async.suspensions).as("suspensions: one at every async_tick call").isEqualTo(plain.ticks);
    }

    @Test
    void neverSuspendingDriverMatchesPlainRun() throws IOException {
        // The benchmark's configuration: precise import list, the driver never suspends.
        for (String file : List.of("fannkuch.wasm", "nbody.wasm", "sort_hash.wasm")) {
            byte[] wasm = Files.readAllBytes(workloadsDir().resolve(file));
            List<String> small = file.startsWith("fannkuch") ? List.of("7") : List.of("5000");
            Run plain = runPlain(wasm, file, small);
            Run async = runAsyncified(Asyncify.transform(wasm, asyncifyOptions()), file, small, SuspendPolicy.never());
            assertThat(async.stdout()).as(file + " stdout").isEqualTo(plain.stdout());
            assertThat(async.exitCode).as(file + " exit code").isEqualTo(plain.exitCode);
            assertThat(async.ticks).as(file + " ticks").isEqualTo(plain.ticks);
            assertThat(async.suspensions).isZero();
        }
    }

    @Test
    void workloadsReportTheirExitCodes() throws IOException {
        // fannkuch and nbody check their own results and exit 0 (main returns, no proc_exit);
        // sort_hash exits through proc_exit with 64 + the low 6 bits of its checksum.
        Run fannkuch = runPlain(Files.readAllBytes(workloadsDir().resolve("fannkuch.wasm")), "fannkuch", List.of("7"));
        assertThat(fannkuch.stdout()).startsWith("228\nPfannkuchen(7) = 16\n");
        assertThat(fannkuch.exitCode).isZero();
        Run sort = runPlain(Files.readAllBytes(workloadsDir().resolve("sort_hash.wasm")), "sort_hash", List.of("1000", "1"));
        assertThat(sort.exitCode).isBetween(64, 127);
    }

    static AsyncifyOptions asyncifyOptions() {
        return AsyncifyOptions.builder()
                .unwindingImports(List.of(TICK_MODULE + "." + TICK_NAME))
                .dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY)
                .importState(true)
                .deferStart(true)
                .v128ViaHost(true)
                .build();
    }

    /** What a run produced. */
    private static final class Run {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exitCode;
        long ticks;
        long tickArgsHash = 17;
        long suspensions;

        String stdout() {
            return out.toString(StandardCharsets.UTF_8);
        }

        String stderr() {
            return err.toString(StandardCharsets.UTF_8);
        }

        HostFunction tick() {
            return new HostFunction(TICK_MODULE, TICK_NAME, FunctionType.of(List.of(ValType.I32), List.of()),
                    (instance, args) -> {
                        ticks++;
                        tickArgsHash = tickArgsHash * 31 + args[0];
                        return null;
                    });
        }
    }

    private static Run runPlain(byte[] wasm, String name, List<String> args) {
        Run run = new Run();
        run(run, wasm, name, args, tick -> List.of(tick), List.of(), start -> start.apply());
        return run;
    }

    private static Run runAsyncified(byte[] wasm, String name, List<String> args, SuspendPolicy policy) {
        Run run = new Run();
        SuspensionDriver driver = new SuspensionDriver(policy);
        List<run.endive.runtime.ImportGlobal> globals = List.of(driver.stateImport());
        run(run, wasm, name, args, tick -> {
            List<ImportFunction> fs = new ArrayList<>();
            fs.add(driver.suspending(tick)); // only async_tick may suspend
            fs.addAll(SuspensionDriver.v128Imports());
            return fs;
        }, globals, start -> driver.call(start));
        run.suspensions = driver.suspensions();
        assertThat(driver.state()).as("state after the run").isEqualTo(AsyncifyAbi.STATE_NORMAL);
        return run;
    }

    /**
     * Instantiates without running {@code _start} (Endive would call it from instantiation), runs the
     * deferred start function if the transform exported one, then {@code _start} through {@code call}.
     * WASI's {@code proc_exit} ends the run with {@link WasiExitException}; a {@code main} returning 0
     * makes {@code _start} return normally.
     */
    private static void run(Run run, byte[] wasm, String name, List<String> args,
                            Function<HostFunction, List<ImportFunction>> tickImports,
                            List<run.endive.runtime.ImportGlobal> globals,
                            Function<ExportFunction, long[]> call) {
        WasmModule module = Parser.parse(wasm);
        List<String> argv = new ArrayList<>();
        argv.add(name);
        argv.addAll(args);
        WasiOptions options = WasiOptions.builder().withStdout(run.out).withStderr(run.err)
                .withArguments(argv).build();
        try (WasiPreview1 wasi = WasiPreview1.builder().withOptions(options).build()) {
            List<ImportFunction> functions = new ArrayList<>(List.of(wasi.toHostFunctions())); // never suspend
            functions.addAll(tickImports.apply(run.tick()));
            ImportValues imports = ImportValues.builder().withFunctions(functions).withGlobals(globals).build();
            Instance instance = Instance.builder(module).withImportValues(imports).withStart(false).build();
            if (ModuleExports.has(module, AsyncifyAbi.DEFERRED_START_EXPORT)) {
                call.apply(instance.export(AsyncifyAbi.DEFERRED_START_EXPORT));
            }
            try {
                call.apply(instance.export("_start"));
                run.exitCode = 0;
            } catch (WasiExitException e) {
                run.exitCode = e.exitCode();
            }
        }
    }


    private static long ticksPrinted(Run run) {
        Matcher m = TICKS_LINE.matcher(run.stdout());
        assertThat(m.find()).as("a 'ticks = N' line in " + run.stdout()).isTrue();
        return Long.parseLong(m.group(1));
    }

    static Path workloadsDir() {
        String root = System.getProperty("asyncify4j.repoRoot");
        Path start = root != null ? Path.of(root) : Path.of("").toAbsolutePath();
        for (Path p = start; p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("workloads"))) {
                return p.resolve("workloads");
            }
        }
        throw new IllegalStateException("no workloads/ directory above " + start);
    }
}
