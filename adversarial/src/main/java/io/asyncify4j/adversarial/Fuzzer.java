package io.asyncify4j.adversarial;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A bounded, seeded mutation fuzzer: case {@code i} mutates seed {@code i mod n} with a random
 * generator derived from (seed, i), so a run is reproducible and any case can be replayed alone. Each
 * mutant goes through {@link CaseRunner} on a worker thread with a per-case timeout; an untyped
 * exception, a timeout or an {@link Error} is a finding, saved with its stack trace.
 */
public final class Fuzzer {
    private static final Logger LOG = LoggerFactory.getLogger(Fuzzer.class);

    /**
     * @param seed the run's seed
     * @param maxCases stop after this many cases (Long.MAX_VALUE: no limit)
     * @param duration stop after this long
     * @param caseTimeout a case running longer is a finding (a hang)
     * @param findings where mutants that gave findings are saved
     */
    public record Config(long seed, long maxCases, Duration duration, Duration caseTimeout, Path findings) {}

    /** What a run did: cases, outcome counts (stage=kind), findings and their files. */
    public record Report(long cases, double seconds, Map<String, Long> outcomes, List<String> findings,
                         List<Path> saved) {}

    private Fuzzer() {}

    /** The mutant of case {@code index}: deterministic in (seed, index, seeds). */
    public static byte[] mutant(List<SeedCorpus.Seed> seeds, long seed, long index, List<Mutator.Kind> applied) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index);
        byte[] base = seeds.get((int) (index % seeds.size())).bytes();
        byte[] other = seeds.get(r.nextInt(seeds.size())).bytes();
        return Mutator.mutate(base, other, r, applied);
    }

    public static Report run(List<SeedCorpus.Seed> seeds, Config config, Consumer<String> progress) throws IOException {
        if (seeds.isEmpty()) {
            throw new IllegalArgumentException("no seed modules");
        }
        Map<String, Long> outcomes = new TreeMap<>();
        List<String> findings = new ArrayList<>();
        List<Path> saved = new ArrayList<>();
        ExecutorService worker = newWorker();
        long start = System.nanoTime();
        long deadline = start + config.duration().toNanos();
        long lastProgress = start;
        long cases = 0;
        try {
            for (long i = 0; i < config.maxCases() && System.nanoTime() < deadline; i++) {
                List<Mutator.Kind> applied = new ArrayList<>();
                byte[] wasm = mutant(seeds, config.seed(), i, applied);
                CaseRunner runner = new CaseRunner();
                Future<?> f = worker.submit(() -> {
                    runner.run(wasm);
                    return null;
                });
                String finding = null;
                Throwable cause = null;
                try {
                    f.get(config.caseTimeout().toMillis(), TimeUnit.MILLISECONDS);
                } catch (ExecutionException e) {
                    cause = e.getCause();
                    finding = cause instanceof CaseRunner.Finding ? cause.getMessage() : "error: " + cause;
                } catch (TimeoutException e) {
                    f.cancel(true);
                    finding = "hang: no outcome within " + config.caseTimeout().toMillis() + " ms (stages so far: "
                            + runner.outcomes() + ")";
                    worker.shutdownNow();
                    worker = newWorker();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                cases++;
                for (Map.Entry<String, String> o : runner.outcomes().entrySet()) {
                    outcomes.merge(o.getKey() + "=" + o.getValue(), 1L, Long::sum);
                }
                if (finding != null) {
                    String seedName = seeds.get((int) (i % seeds.size())).name();
                    String text = "case " + i + " (seed " + config.seed() + ", from " + seedName + ", mutations "
                            + applied + "): " + finding;
                    findings.add(text);
                    LOG.warn("fuzz finding: {}", text);
                    saved.add(save(config.findings(), config.seed(), i, wasm, text, cause));
                }
                long now = System.nanoTime();
                if (progress != null && now - lastProgress > 10_000_000_000L) {
                    lastProgress = now;
                    double secs = (now - start) / 1e9;
                    progress.accept(String.format("%d cases in %.0f s (%.1f/s), %d findings", cases, secs,
                            cases / secs, findings.size()));
                }
            }
        } finally {
            worker.shutdownNow();
        }
        return new Report(cases, (System.nanoTime() - start) / 1e9, outcomes, findings, saved);
    }

    private static ExecutorService newWorker() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(null, r, "fuzz-case", 16L << 20);
            t.setDaemon(true);
            return t;
        });
    }

    private static Path save(Path dir, long seed, long index, byte[] wasm, String text, Throwable cause) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve("finding-" + seed + "-" + index + ".wasm");
        Files.write(file, wasm);
        StringWriter sw = new StringWriter();
        sw.write(text + "\n");
        if (cause != null) {
            cause.printStackTrace(new PrintWriter(sw));
        }
        Files.writeString(dir.resolve("finding-" + seed + "-" + index + ".txt"), sw.toString());
        return file;
    }
}
