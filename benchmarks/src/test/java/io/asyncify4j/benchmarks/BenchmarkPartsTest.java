package io.asyncify4j.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import run.endive.wasm.Parser;
import io.asyncify4j.asyncify.Asyncify;
import io.asyncify4j.asyncify.AsyncifyReport;
import io.asyncify4j.benchmarks.BenchResults.Timing;
import io.asyncify4j.benchmarks.BenchResults.WorkloadResult;
import io.asyncify4j.benchmarks.host.InstructionCounts;
import io.asyncify4j.engine.Engines;
import io.asyncify4j.engine.SuspendPolicy;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.ModuleModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The benchmark's parts, on small inputs; nothing here is timed (the benchmark is the bench command). */
class BenchmarkPartsTest {

    static Path workloads() {
        String root = System.getProperty("asyncify4j.repoRoot");
        Path start = root != null ? Path.of(root) : Path.of("").toAbsolutePath();
        for (Path p = start; p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("workloads"))) {
                return p.resolve("workloads");
            }
        }
        throw new IllegalStateException("no workloads/ above " + start);
    }

    @Test
    void findsTheCommittedWorkloads() throws IOException {
        assertThat(Benchmark.workloads(workloads())).extracting(p -> p.getFileName().toString())
                .containsExactly("fannkuch.wasm", "nbody.wasm", "sort_hash.wasm");
    }

    @Test
    void largeModuleDuplicatesFunctionsAndStaysValid() throws IOException {
        byte[] base = Files.readAllBytes(workloads().resolve("sort_hash.wasm"));
        ModuleModel original = WasmCodec.decode(base);
        AsyncifyReport baseReport = Asyncify.transform(original, Benchmark.oursOptions());

        LargeModule.Generated large = LargeModule.generate(base, 200_000);
        assertThat(large.codeBytes()).isGreaterThanOrEqualTo(200_000);
        assertThat(large.functions() - WasmCodec.decode(base).importedFunctionCount())
                .isEqualTo(large.copies() * WasmCodec.decode(base).functions().size());
        Parser.parse(large.wasm()); // validates

        ModuleModel m = WasmCodec.decode(large.wasm());
        AsyncifyReport report = Asyncify.transform(m, Benchmark.oursOptions());
        // Each copy's call chain to async_tick is instrumented again; only _start is exported (and
        // instrumented) once per copy too, since copies keep their internal calls.
        assertThat(report.instrumented()).hasSize(baseReport.instrumented().size() * large.copies());
        Parser.parse(WasmCodec.encode(m));
    }

    @Test
    void asyncifiedRunMatchesPlainAndSuspendsPeriodically() throws IOException {
        byte[] wasm = Files.readAllBytes(workloads().resolve("nbody.wasm"));
        byte[] ours = Asyncify.transform(wasm, Benchmark.oursOptions());
        List<String> argv = List.of("nbody.wasm", "1000");
        WasiRunner.Outcome plain = WasiRunner.plain(wasm, argv).run();
        WasiRunner.Outcome never = WasiRunner.asyncified(ours, SuspendPolicy::never, argv).run();
        WasiRunner.Outcome periodic = WasiRunner.asyncified(ours, () -> WasiRunner.every(7), argv).run();
        assertThat(plain.ticks()).isEqualTo(1000);
        assertThat(never.sameBehaviour(plain)).isTrue();
        assertThat(never.suspensions()).isZero();
        assertThat(periodic.sameBehaviour(plain)).isTrue();
        assertThat(periodic.suspensions()).isEqualTo(1000 / 7);
    }

    @Test
    void compiledVariantsMatchPlainIncludingMeteredAndPreempted() throws IOException {
        assumeTrue(Engines.compilerSupported(), "Endive's compiler cannot run modules of runtime " + Engines.version());
        byte[] wasm = Files.readAllBytes(workloads().resolve("nbody.wasm"));
        byte[] ours = Asyncify.transform(wasm, Benchmark.oursOptions(Engines.Kind.COMPILER));
        byte[] metered = Asyncify.transform(wasm, Benchmark.meteredOptions(Engines.Kind.COMPILER));
        List<String> argv = List.of("nbody.wasm", "1000");
        Engines.Kind compiler = Engines.Kind.COMPILER;
        WasiRunner.Outcome plain = WasiRunner.plain(wasm, argv, compiler).run();
        WasiRunner.Outcome interpreted = WasiRunner.plain(wasm, argv).run();
        WasiRunner.Outcome periodic = WasiRunner.asyncified(ours, () -> WasiRunner.every(7), argv, compiler).run();
        // A small quantum: the guest runs out of fuel many times, and every 3rd suspension point
        // (async_tick calls and refills alike) unwinds to the host and rewinds.
        WasiRunner metering = WasiRunner.metered(metered, SuspendPolicy::never, 20_000, argv, compiler);
        WasiRunner.Outcome meteredRun = metering.run();
        WasiRunner.Outcome preempted = WasiRunner.metered(metered, () -> WasiRunner.every(3), 20_000, argv, compiler).run();
        assertThat(plain.ticks()).isEqualTo(1000);
        assertThat(plain.sameBehaviour(interpreted)).isTrue();
        assertThat(periodic.sameBehaviour(plain)).isTrue();
        assertThat(periodic.suspensions()).isEqualTo(1000 / 7);
        assertThat(meteredRun.sameBehaviour(plain)).isTrue();
        assertThat(meteredRun.suspensions()).isZero();
        assertThat(preempted.sameBehaviour(plain)).isTrue();
        assertThat(preempted.suspensions()).isGreaterThan(1000 / 3);
        // The runner instantiates from the classes compiled once: a second run gives the same result.
        assertThat(metering.run().sameBehaviour(plain)).isTrue();
    }

    @Test
    void scaledArgumentsOfTheWorkloads() {
        assertThat(Benchmark.arguments("fannkuch.wasm", 1)).isEmpty();
        assertThat(Benchmark.arguments("fannkuch.wasm", 4)).containsExactly("8", "8");
        assertThat(Benchmark.arguments("nbody.wasm", 4)).containsExactly("400000");
        assertThat(Benchmark.arguments("sort_hash.wasm", 3)).containsExactly("100000", "6");
        assertThat(Benchmark.arguments("other.wasm", 1)).isEmpty();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Benchmark.arguments("other.wasm", 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("other.wasm");
    }

    @Test
    void instructionCountsOfAMeteredAndPreemptedWorkload() throws IOException {
        byte[] wasm = Files.readAllBytes(workloads().resolve("fannkuch.wasm"));
        InstructionCounts.Counts c = InstructionCounts.of(wasm, 1_000_000);
        // Deterministic counts (no timing): metering adds instructions, preempting adds unwinds and rewinds.
        assertThat(c.metered()).isGreaterThan(c.plain()).isLessThan((long) (c.plain() * 1.10));
        assertThat(c.fuelUnits()).isGreaterThanOrEqualTo(c.plain());
        assertThat(c.preemptions()).isGreaterThanOrEqualTo(c.fuelUnits() / c.quantum());
        assertThat(c.preempted()).isGreaterThan(c.metered());
    }

    @Test
    void memoryBenchmarkSuspendsEveryCallAtOnce() throws Exception {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        new io.asyncify4j.benchmarks.host.HostBenchmarks(new java.io.PrintStream(bytes, true), 10).memoryPerSuspendedCall(50, 3);
        assertThat(bytes.toString()).contains("suspended calls: 50;");
    }

    @Test
    void memoryAgainstVirtualThreadsReportsEveryDepthAndEngine() throws Exception {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        new io.asyncify4j.benchmarks.host.HostBenchmarks(new java.io.PrintStream(bytes, true), 10).memoryAgainstVirtualThreads(20);
        String report = bytes.toString();
        for (String depth : new String[] {"1", "10", "100"}) {
            assertThat(report).containsPattern("(?m)^" + depth + " +interpreter +-?[0-9]+");
        }
    }

    @Test
    void roundTripInstructionsAreCountedPerAsyncifyState() {
        long[] plain = io.asyncify4j.benchmarks.host.RoundTripInstructions.count(10, 3, false);
        long[] suspending = io.asyncify4j.benchmarks.host.RoundTripInstructions.count(10, 3, true);
        assertThat(plain[1]).isZero();
        assertThat(plain[2]).isZero();
        assertThat(suspending[1]).isPositive();
        assertThat(suspending[2]).isPositive();
        assertThat(suspending[0]).isGreaterThanOrEqualTo(plain[0] / 2);
    }

    /** Both engines, or the interpreter and a note where the compiler cannot run this runtime's modules (endive-latest). */
    @Test
    void instanceCreationReportsEveryEngineThisRuntimeRuns() throws Exception {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        new io.asyncify4j.benchmarks.host.HostBenchmarks(new java.io.PrintStream(bytes, true), 10).instanceCreation(20);
        String report = bytes.toString();
        assertThat(report).containsPattern("interpreter +[0-9.]+ +-?[0-9]+");
        if (Engines.compilerSupported()) {
            assertThat(report).containsPattern("compiler +[0-9.]+ +-?[0-9]+").doesNotContain("not measured");
        } else {
            assertThat(report).doesNotContainPattern("compiler +[0-9.]+ +-?[0-9]+")
                    .contains("(compiler: not measured, Endive's compiler " + Engines.compilerVersion());
        }
    }

    @Test
    void codeSectionSizeAndMedians() throws IOException {
        byte[] wasm = Files.readAllBytes(workloads().resolve("fannkuch.wasm"));
        assertThat(WasmSizes.codeSectionSize(wasm)).isBetween(1000L, (long) wasm.length);
        assertThat(Benchmark.median(new double[] {5, 1, 3})).isEqualTo(3);
        assertThat(Benchmark.median(new double[] {4, 1, 3, 2})).isEqualTo(2.5);
        Timing t = Benchmark.timing(List.of(3_000_000L, 1_000_000L, 2_000_000L), List.of(2_000_000L, 1_000_000L, 1_000_000L));
        assertThat(t.medianMs()).isEqualTo(2.0);
        assertThat(t.minMs()).isEqualTo(1.0);
        assertThat(t.maxMs()).isEqualTo(3.0);
        assertThat(t.cpuMedianMs()).isEqualTo(1.0);
    }

    @Test
    void reportRendersWithoutBinaryen() throws IOException {
        Timing t = new Timing(100, 90, 110, List.of(100.0), 95, List.of(95.0));
        Timing slower = new Timing(130, 120, 140, List.of(130.0), 120, List.of(120.0));
        WorkloadResult w = new WorkloadResult("x.wasm", List.of(), 0, 5000, 5, t, slower, slower, null, null,
                1.3, 1.3, null, null, 1.33, null, 1.26, 1.26, null, null, 1000, 1100, null, 1.1, null, 10, 2, 3.0, null);
        BenchResults r = new BenchResults(
                new BenchResults.Machine(2, "17", "vm", "os", "arch", 1 << 30, null, 0.5, 0.7),
                new BenchResults.Settings("dir", 1, 1, "engine", "timed", Benchmark.TICK_IMPORT, 1000, "args"),
                List.of(w), null, List.of("x.wasm: run time ours / uninstrumented: wall clock 1.300x MISSED by 0.200x"),
                List.of());
        String text = BenchReport.text(r);
        assertThat(text).contains("| x.wasm | 5000 | 100 (CPU 95) | 130 (1.300x; CPU 1.260x) |").contains("Binaryen not installed")
                .doesNotContain("wasm-opt ms").contains("MISSED by 0.200x");
        assertThat(BenchReport.toJson(r)).contains("\"oursRatio\" : 1.3");
    }

    @Test
    void reportRendersMeteredAndCompilerColumns() throws IOException {
        Timing t = new Timing(100, 90, 110, List.of(100.0), 95, List.of(95.0));
        Timing slower = new Timing(130, 120, 140, List.of(130.0), 120, List.of(120.0));
        Timing metered = new Timing(150, 140, 160, List.of(150.0), 140, List.of(140.0));
        java.util.Map<String, Double> compile = new java.util.LinkedHashMap<>();
        compile.put("plain", 300.0);
        compile.put("ours-metered", 500.0);
        java.util.Map<String, Double> instantiate = new java.util.LinkedHashMap<>();
        instantiate.put("plain", 0.25);
        instantiate.put("ours-metered", 0.5);
        WorkloadResult w = new WorkloadResult("x.wasm", List.of("8", "8"), 0, 5000, 5, t, slower, slower, null, null,
                1.3, 1.3, null, null, 1.33, null, 1.26, 1.26, null, null, 1000, 1100, null, 1.1, null, 10, 2, 3.0, null,
                metered, 1.5, 140 / 95.0, 2000L, compile, instantiate, slower,
                new Timing(1000, 900, 1100, List.of(1000.0), 950, List.of(950.0)));
        BenchResults r = new BenchResults(
                new BenchResults.Machine(2, "25", "vm", "os", "arch", 1 << 30, null, 0.5, 0.7),
                new BenchResults.Settings("dir", 1, 1, Benchmark.engineDescription(Engines.Kind.COMPILER), "timed",
                        Benchmark.TICK_IMPORT, 1000, "args"),
                List.of(w), null, List.of(), List.of());
        String text = BenchReport.text(r);
        assertThat(text).contains("| ours, suspending | ours, interpreter's shape | ours, metered |")
                .contains("| x.wasm 8 8 | 5000 | 100 (CPU 95) | 130 (1.300x; CPU 1.260x) | 130 (1.300x; CPU 1.260x), 5 susp. "
                        + "| 130 (1.300x; CPU 1.263x) | 150 (1.500x; CPU 1.474x) | 1000 (10.000x; CPU 10.000x) |")
                .contains("| workload | plain | ours-metered | metered code |")
                .contains("| x.wasm | 300 / 0.25 | 500 / 0.50 | 2000 (2.000x) |")
                .contains("compiler");
        assertThat(BenchReport.toJson(r)).contains("\"oursMeteredRatio\" : 1.5");
    }
}
