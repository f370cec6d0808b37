package io.asyncify4j.spectest;

import io.asyncify4j.spectest.host.PrintSink;
import io.asyncify4j.spectest.report.ScriptResult;
import io.asyncify4j.spectest.report.SuiteReport;
import io.asyncify4j.spectest.wast.WastConverter;
import io.asyncify4j.spectest.wast.WastScript;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@code .wast} scripts: converts each with wast2json (cached), then executes its commands in a
 * mode, on worker threads with a large stack. Scripts are independent (each gets its own store and
 * its own {@code spectest} host instance), so they may run in parallel.
 *
 * <pre>{@code
 * SpecTestRunner runner = SpecTestRunner.builder()
 *         .testsuiteRoot(root)
 *         .expectedFailures(ExpectedFailures.bundled())
 *         .build();
 * SuiteReport report = runner.run(Testsuite.defaultSelection(root), SpecMode.PLAIN);
 * }</pre>
 */
public final class SpecTestRunner {
    private static final Logger LOG = LoggerFactory.getLogger(SpecTestRunner.class);

    /**
     * Stack size of worker threads: Endive's interpreter recurses on the Java stack, and
     * {@code assert_exhaustion} needs Endive's "call stack exhausted" (raised on
     * {@link StackOverflowError}), so this stack is the guest's call-depth limit. 4 MiB holds 3,400 to
     * 11,600 nested guest calls on JDK 17 (fewer while the JIT is cold; {@code WorkerStackTest}). The
     * deepest recursion a script expects to return from is 200 calls ({@code call.wast}), and
     * {@code skip-stack-guard-page.wast} nests 901 calls before its 1056-local function; on Endive
     * 1.2.0 the suite passes in plain, asyncify and chaos modes down to 1 MiB. A deeper stack only
     * makes exhaustion slower: each frame of that 1056-local function holds about 21 KB of interpreter
     * locals, so on 16 MiB (up to 52,000 calls) every {@code assert_exhaustion} of the script built over
     * a gigabyte of live frames, which garbage collections copied while scanning the deep stack, and
     * in chaos mode, where each full-depth suspension rewinds all of them, its commands took minutes on
     * a busy machine (beyond the 120 s limit).
     */
    public static final long DEFAULT_STACK_SIZE = 4L << 20;

    private final WastConverter converter;
    private final ExpectedFailures expectedFailures;
    private final PrintSink printSink;
    private final int parallelism;
    private final Duration commandTimeout;
    private final Path testsuiteRoot;
    private final Consumer<ScriptResult> listener;
    private final long stackSize;
    private final boolean checkModuleMessages;

    private SpecTestRunner(Builder b) {
        this.converter = b.converter != null ? b.converter : new WastConverter(WastConverter.defaultCacheDir());
        this.expectedFailures = b.expectedFailures;
        this.printSink = b.printSink;
        this.parallelism = b.parallelism;
        this.commandTimeout = b.commandTimeout;
        this.testsuiteRoot = b.testsuiteRoot;
        this.listener = b.listener;
        this.stackSize = b.stackSize;
        this.checkModuleMessages = b.checkModuleMessages;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Runs the scripts in one mode; results come back in the order of {@code scripts}. */
    public SuiteReport run(List<Path> scripts, SpecMode mode) {
        long start = System.nanoTime();
        int threads = Math.max(1, Math.min(parallelism, scripts.size()));
        ExecutorService pool = Executors.newFixedThreadPool(threads, bigStackThreads("asyncify4j-spectest-" + mode.id()));
        List<ScriptResult> results = new ArrayList<>();
        try {
            List<Future<ScriptResult>> futures = new ArrayList<>();
            for (Path script : scripts) {
                futures.add(pool.submit(() -> {
                    ScriptResult r = runScriptHere(script, mode);
                    synchronized (listener) {
                        listener.accept(r);
                    }
                    return r;
                }));
            }
            for (int i = 0; i < futures.size(); i++) {
                try {
                    results.add(futures.get(i).get());
                } catch (ExecutionException e) {
                    String id = scriptId(scripts.get(i));
                    LOG.error("{}: harness error", id, e.getCause());
                    ScriptResult r = new ScriptResult(id, mode.id());
                    r.fail(new io.asyncify4j.spectest.report.CommandFailure(
                            id, 0, "(script)", "script to run", "harness error: " + ScriptRunner.describe(e.getCause()), null));
                    results.add(r);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } finally {
            pool.shutdownNow();
        }
        return new SuiteReport(mode.id(), results, (System.nanoTime() - start) / 1_000_000);
    }

    /** Runs one script on a fresh big-stack thread and waits for it. */
    public ScriptResult runScript(Path script, SpecMode mode) {
        ScriptResult[] out = new ScriptResult[1];
        RuntimeException[] failure = new RuntimeException[1];
        Thread t = bigStackThreads("asyncify4j-spectest").newThread(() -> {
            try {
                out[0] = runScriptHere(script, mode);
            } catch (RuntimeException e) {
                failure[0] = e;
            }
        });
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            t.interrupt();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        if (failure[0] != null) {
            throw failure[0];
        }
        return out[0];
    }

    /** Converts and runs one script on the calling thread. */
    ScriptResult runScriptHere(Path script, SpecMode mode) {
        String id = scriptId(script);
        long start = System.nanoTime();
        WastConverter.Conversion conversion;
        try {
            conversion = converter.convert(script);
        } catch (java.io.IOException e) {
            ScriptResult r = ScriptResult.skippedScript(id, mode.id(), "cannot convert: " + e);
            LOG.warn("{}: cannot convert: {}", id, e.toString());
            return r;
        }
        if (!conversion.converted()) {
            LOG.debug("{}: skipped: {}", id, conversion.failure());
            return ScriptResult.skippedScript(id, mode.id(), conversion.failure());
        }
        WastScript parsed;
        try {
            parsed = WastScript.load(id, script, conversion.json());
        } catch (java.io.IOException | RuntimeException e) {
            return ScriptResult.skippedScript(id, mode.id(), "cannot read wast2json output: " + e);
        }
        ScriptResult r = new ScriptRunner(parsed, mode.id(), mode.newPipeline(), printSink, expectedFailures, commandTimeout)
                .checkModuleMessages(checkModuleMessages)
                .run();
        r.setMillis((System.nanoTime() - start) / 1_000_000);
        LOG.debug("{}", r);
        return r;
    }

    public String scriptId(Path script) {
        return Testsuite.scriptId(testsuiteRoot, script);
    }

    private ThreadFactory bigStackThreads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(null, r, prefix + "-" + n.incrementAndGet(), stackSize);
            t.setDaemon(true);
            return t;
        };
    }

    public static final class Builder {
        private WastConverter converter;
        private ExpectedFailures expectedFailures = ExpectedFailures.none();
        private PrintSink printSink = PrintSink.discard();
        private int parallelism = Math.min(2, Runtime.getRuntime().availableProcessors());
        private Duration commandTimeout = Duration.ofSeconds(120);
        private Path testsuiteRoot;
        private Consumer<ScriptResult> listener = r -> {};
        private long stackSize = DEFAULT_STACK_SIZE;
        private boolean checkModuleMessages = true;

        private Builder() {}

        /** Where wast2json output is cached (default: {@link WastConverter#defaultCacheDir()}). */
        public Builder converter(WastConverter converter) {
            this.converter = converter;
            return this;
        }

        public Builder expectedFailures(ExpectedFailures expectedFailures) {
            this.expectedFailures = Objects.requireNonNull(expectedFailures);
            return this;
        }

        /** Where {@code spectest.print*} output goes (default: discarded). */
        public Builder printSink(PrintSink printSink) {
            this.printSink = Objects.requireNonNull(printSink);
            return this;
        }

        /** How many scripts run at once (default: min(2, processors)). */
        public Builder parallelism(int parallelism) {
            this.parallelism = Math.max(1, parallelism);
            return this;
        }

        /** How long one command may run before it is interrupted and failed (default 120 s). */
        public Builder commandTimeout(Duration commandTimeout) {
            this.commandTimeout = Objects.requireNonNull(commandTimeout);
            return this;
        }

        /** The testsuite root, for script ids (paths relative to it). */
        public Builder testsuiteRoot(Path testsuiteRoot) {
            this.testsuiteRoot = testsuiteRoot;
            return this;
        }

        /** Called as each script completes (in completion order, one call at a time). */
        public Builder listener(Consumer<ScriptResult> listener) {
            this.listener = Objects.requireNonNull(listener);
            return this;
        }

        public Builder stackSize(long stackSize) {
            this.stackSize = stackSize;
            return this;
        }

        /** See {@link ScriptRunner#checkModuleMessages(boolean)}. */
        public Builder checkModuleMessages(boolean check) {
            this.checkModuleMessages = check;
            return this;
        }

        public SpecTestRunner build() {
            return new SpecTestRunner(this);
        }
    }
}
