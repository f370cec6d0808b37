package io.asyncify4j.cli;

import io.asyncify4j.benchmarks.BenchReport;
import io.asyncify4j.benchmarks.BenchResults;
import io.asyncify4j.benchmarks.Benchmark;
import io.asyncify4j.host.AsyncInstance;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Benchmarks the asyncify transform on C workloads (WASI .wasm files) on",
            "Endive's interpreter: uninstrumented; asyncified by us with the precise",
            "import list env.async_tick (never suspending, and suspending at every N-th",
            "async_tick call); asyncified by Binaryen (wasm-opt --asyncify",
            "--pass-arg=asyncify-imports@env.async_tick -O; only when wasm-opt is on",
            "PATH). Reports median run times and ratios, code-section size factors, and",
            "the transform time on a generated large module. Every variant's output must",
            "equal the uninstrumented run's. Progress goes to stderr, the report",
            "(Markdown tables) to stdout. Takes about 3 minutes with the defaults.",
            "--engine compiler runs the same variants on Endive's compiler (each module",
            "compiled once) on inputs 4 times the defaults, our output shaped for it",
            "(AsyncifyOptions.Target), plus a metered variant (fuel, as the host runs every",
            "guest), and ours and metered in the interpreter's shape, for comparison.",
            "--host and --load benchmark the host runtime and loading instead.",
            ""
        },
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done (targets met or not: read the report)",
                        "1:a variant behaved differently from the uninstrumented run",
                        "2:usage error or no workloads"})
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--workloads", paramLabel = "DIR",
            description = "Directory of the .wasm workloads (default: workloads/ of this checkout, or of the working directory).")
    Path workloads;

    @Option(names = "--iterations", paramLabel = "N", description = "Measured rounds; medians are reported (default: ${DEFAULT-VALUE}).")
    int iterations = 5;

    @Option(names = "--warmup", paramLabel = "N", description = "Warmup rounds before measuring (default: ${DEFAULT-VALUE}).")
    int warmup = 2;

    @Option(names = "--suspend-every", paramLabel = "N",
            description = "The suspending figure unwinds and rewinds at every N-th async_tick call (default: ${DEFAULT-VALUE}).")
    long suspendEvery = 1000;

    @Option(names = "--large-mb", paramLabel = "MB",
            description = "Code-section size of the generated large module, in MiB (default: ${DEFAULT-VALUE}).")
    int largeMb = 4;

    @Option(names = "--no-large", description = "Skip the large-module transform timing.")
    boolean noLarge;

    @Option(names = "--wasm-opt", paramLabel = "PATH", description = "Binaryen's wasm-opt to compare with (default: found on PATH).")
    Path wasmOpt;

    @Option(names = "--no-binaryen", description = "Leave Binaryen out even when it is installed.")
    boolean noBinaryen;

    @Option(names = "--engine", paramLabel = "ENGINE",
            description = "interpreter or compiler: Endive's compiler to JVM bytecode, each variant's module compiled "
                    + "once and its classes reused by every round, compile and instantiation times reported, and a "
                    + "metered variant added (default: ${DEFAULT-VALUE}).")
    String engine = "interpreter";

    @Option(names = "--scale", paramLabel = "K",
            description = "Run the workloads on inputs K times their defaults (default: 1 on the interpreter, 4 on "
                    + "the compiler, where the defaults run in a few 100 ms).")
    Integer scale;

    @Option(names = "--metered", description = "Also run our output with fuel metering (always on the compiler).")
    boolean metered;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the figures as JSON to FILE.")
    Path json;

    @Option(names = "--host", description = "Benchmark the host runtime instead: suspend+resume round trips vs a"
            + " thread-handoff and (JDK 21+) a virtual-thread baseline, memory per suspended call (also against"
            + " parked virtual threads), fuel metering overhead on the workloads"
            + " (each variant in JVMs of its own), scheduler preemption latency and fairness among 1,000 guests."
            + " Takes about 20 minutes.")
    boolean host;

    @Option(names = "--load", description = "Benchmark loading instead: transform time and peak heap over module size"
            + " (nested loops of depth 10 to 100,000, call chains of 10 to 100,000 functions, 1, 10 and 30 MiB of"
            + " copies of a workload's functions, and 1 and 3 MiB of them metered), each module in a JVM of its"
            + " own with -Xmx of --load-heap."
            + " Takes a few minutes.")
    boolean load;

    @Option(names = "--load-heap", paramLabel = "SIZE", description = "-Xmx of the JVMs of --load (default: ${DEFAULT-VALUE}).")
    String loadHeap = "4g";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Logging.configure(false);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path dir = workloads != null ? workloads : defaultWorkloads();
        if (!Files.isDirectory(dir)) {
            throw CliException.badInput("no workloads directory " + dir + " (use --workloads DIR)");
        }
        if (iterations < 1 || warmup < 0 || suspendEvery < 1 || largeMb < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--iterations, --suspend-every and --large-mb must be >= 1, --warmup >= 0");
        }
        if (host) {
            return runHost(dir, out, err);
        }
        if (load) {
            return runLoad(dir, out, err);
        }
        io.asyncify4j.engine.Engines.Kind kind = switch (engine) {
            case "interpreter" -> io.asyncify4j.engine.Engines.Kind.INTERPRETER;
            case "compiler" -> io.asyncify4j.engine.Engines.Kind.COMPILER;
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "--engine takes interpreter or compiler, not " + engine);
        };
        boolean compiler = kind == io.asyncify4j.engine.Engines.Kind.COMPILER;
        if (compiler && !io.asyncify4j.engine.Engines.compilerSupported()) {
            throw CliException.badInput("Endive's compiler " + io.asyncify4j.engine.Engines.compilerVersion()
                    + " cannot run modules of runtime " + io.asyncify4j.engine.Engines.version());
        }
        int k = scale != null ? scale : compiler ? 4 : 1;
        if (k < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--scale must be >= 1");
        }
        Benchmark.Config config;
        try {
            for (Path w : Benchmark.workloads(dir)) {
                Benchmark.arguments(w.getFileName().toString(), k);
            }
            config = new Benchmark.Config(dir, warmup, iterations, suspendEvery, (long) largeMb << 20,
                    wasmOpt, noBinaryen, noLarge, kind, k, metered || compiler);
        } catch (IOException | IllegalArgumentException e) {
            throw CliException.badInput(e.getMessage(), e);
        }
        BenchResults results;
        try {
            results = BigStack.call(() -> Benchmark.run(config, err));
        } catch (IOException e) {
            throw CliException.badInput(e.getMessage(), e);
        }
        out.print(BenchReport.text(results));
        out.flush();
        if (json != null) {
            try {
                BenchReport.writeJson(results, json);
            } catch (IOException e) {
                throw CliException.badInput("cannot write " + json + ": " + e.getMessage(), e);
            }
            err.println("wrote " + json);
            err.flush();
        }
        return results.failures().isEmpty() ? Main.OK : Main.FAILED;
    }

    /** JVMs per fuel-overhead variant (see HostBenchmarks.fuelOverhead). */
    private static final int FUEL_FORKS = 5;

    private int runHost(Path dir, PrintWriter out, PrintWriter err) throws Exception {
        java.io.PrintStream stream = new java.io.PrintStream(new java.io.OutputStream() {
            @Override
            public void write(int b) {
                out.write(b);
                if (b == '\n') {
                    out.flush();
                }
            }
        }, true, java.nio.charset.StandardCharsets.UTF_8);
        out.printf("machine: %d processors, Java %s%n", Runtime.getRuntime().availableProcessors(), Runtime.version());
        io.asyncify4j.benchmarks.host.HostBenchmarks b = new io.asyncify4j.benchmarks.host.HostBenchmarks(stream, 20_000);
        BigStack.call(() -> {
            b.roundTrips();
            b.instanceCreation(2_000);
            b.memoryPerSuspendedCall(10_000, 10);
            b.memoryAgainstVirtualThreads(10_000);
            stream.println("== fuel metering overhead (default quantum " + String.format("%,d", AsyncInstance.DEFAULT_QUANTUM)
                    + ", interpreter; each variant in " + FUEL_FORKS + " JVMs of its own, median of " + iterations
                    + " runs each, median over the JVMs) ==");
            try (java.util.stream.Stream<Path> files = Files.list(dir)) {
                for (Path w : files.filter(f -> f.toString().endsWith(".wasm")).sorted().toList()) {
                    err.println("fuel overhead: " + w.getFileName() + " (" + 4 * FUEL_FORKS + " JVMs)...");
                    err.flush();
                    b.fuelOverhead(w, iterations, FUEL_FORKS);
                }
            }
            b.preemptionLatency(10_000, 2_000);
            b.fairness(1_000, 2_000, 5);
            return null;
        });
        stream.flush();
        out.flush();
        return Main.OK;
    }

    private int runLoad(Path dir, PrintWriter out, PrintWriter err) throws Exception {
        if (!loadHeap.matches("[0-9]+[kKmMgG]?")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--load-heap takes a size such as 2g or 512m");
        }
        Path workload = dir.resolve("fannkuch.wasm");
        if (!Files.isRegularFile(workload)) {
            try (java.util.stream.Stream<Path> files = Files.list(dir)) {
                workload = files.filter(f -> f.toString().endsWith(".wasm")).sorted().findFirst()
                        .orElseThrow(() -> CliException.badInput("no .wasm workload in " + dir));
            }
        }
        java.io.PrintStream stream = new java.io.PrintStream(new java.io.OutputStream() {
            @Override
            public void write(int b) {
                out.write(b);
                if (b == '\n') {
                    out.flush();
                }
            }
        }, true, java.nio.charset.StandardCharsets.UTF_8);
        java.io.PrintStream progress = new java.io.PrintStream(new java.io.OutputStream() {
            @Override
            public void write(int b) {
                err.write(b);
                if (b == '\n') {
                    err.flush();
                }
            }
        }, true, java.nio.charset.StandardCharsets.UTF_8);
        new io.asyncify4j.benchmarks.load.LoadBenchmark(stream, progress, loadHeap).run(workload,
                new int[] {10, 100, 1_000, 10_000, 100_000}, new int[] {10, 100, 1_000, 10_000, 100_000},
                new int[] {1, 10, 30}, new int[] {1, 3});
        stream.flush();
        out.flush();
        return Main.OK;
    }

    private static Path defaultWorkloads() {
        for (Path root : CliPaths.repoRootHints()) {
            Path p = root.resolve("workloads");
            if (Files.isDirectory(p)) {
                return p;
            }
        }
        return Path.of("workloads").toAbsolutePath();
    }
}
