package io.asyncify4j.cli;

import io.asyncify4j.adversarial.CaseRunner;
import io.asyncify4j.adversarial.Fuzzer;
import io.asyncify4j.adversarial.SeedCorpus;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "fuzz",
        mixinStandardHelpOptions = true,
        description = {"Mutation-fuzzes the decoder, validator, transform, the engine (Endive) and AsyncInstance: seeded, "
                + "deterministic mutants of the seed modules must meet only typed outcomes, without hangs.",
                "Seeds: the C workloads, the modules of the spec scripts (default selection) and the random "
                        + "corpus of the adversarial tests, or the .wasm files under --corpus.", ""},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:only typed outcomes", "1:findings (saved under --out)", "2:usage error"})
final class FuzzCommand implements Callable<Integer> {

    @Option(names = "--seconds", defaultValue = "60", description = "How long to run (default: ${DEFAULT-VALUE}).")
    long seconds;

    @Option(names = "--seed", defaultValue = "1", description = "The run's seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--cases", description = "Stop after this many cases.")
    Long cases;

    @Option(names = "--corpus", paramLabel = "DIR", description = "Seed modules: every .wasm under DIR.")
    Path corpus;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "fuzz-findings",
            description = "Where mutants with findings are saved (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--case-timeout", defaultValue = "60", description = "Seconds a case may take (default: ${DEFAULT-VALUE}).")
    long caseTimeout;

    @Option(names = "--replay", paramLabel = "FILE", description = "Run one module through every stage and print the outcomes.")
    Path replay;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Logging.configure(false);
        PrintWriter w = spec.commandLine().getOut();
        if (replay != null) {
            CaseRunner runner = new CaseRunner();
            try {
                runner.run(Files.readAllBytes(replay));
                w.println("outcomes: " + runner.outcomes());
                w.flush();
                return Main.OK;
            } catch (CaseRunner.Finding f) {
                w.println("outcomes: " + runner.outcomes());
                w.println("FINDING " + f.getMessage());
                if (f.getCause() != null) {
                    f.getCause().printStackTrace(w);
                }
                w.flush();
                return 1;
            }
        }
        List<SeedCorpus.Seed> seeds = new ArrayList<>();
        if (corpus != null) {
            if (!Files.isDirectory(corpus)) {
                throw CliException.badInput("--corpus " + corpus + " is not a directory");
            }
            seeds.addAll(SeedCorpus.directory(corpus));
        } else {
            seeds.addAll(SeedCorpus.defaults());
            seeds.addAll(SeedCorpus.directory(SeedCorpus.repoRoot().resolve("adversarial/src/test/resources/random")));
        }
        if (seeds.isEmpty()) {
            throw CliException.badInput("no seed modules (.wasm) found");
        }
        w.printf("fuzz: %d seed modules, seed %d, %d s, findings to %s%n", seeds.size(), seed, seconds,
                out.toAbsolutePath());
        w.flush();
        Fuzzer.Report r = Fuzzer.run(seeds, new Fuzzer.Config(seed, cases == null ? Long.MAX_VALUE : cases,
                Duration.ofSeconds(seconds), Duration.ofSeconds(caseTimeout), out), line -> {
                    w.println(line);
                    w.flush();
                });
        w.printf("%d cases in %.1f s (%.1f cases/s)%n", r.cases(), r.seconds(), r.cases() / r.seconds());
        w.println("outcomes (stage=kind: cases):");
        for (Map.Entry<String, Long> e : r.outcomes().entrySet()) {
            w.printf("  %-60s %d%n", e.getKey(), e.getValue());
        }
        if (r.findings().isEmpty()) {
            w.println("no findings");
            w.flush();
            return Main.OK;
        }
        w.printf("%d findings, saved in %s:%n", r.findings().size(), out.toAbsolutePath());
        for (String f : r.findings()) {
            w.println("  " + f);
        }
        w.flush();
        return 1;
    }
}
