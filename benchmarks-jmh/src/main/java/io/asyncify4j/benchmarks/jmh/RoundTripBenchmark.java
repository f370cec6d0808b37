package io.asyncify4j.benchmarks.jmh;

import io.asyncify4j.benchmarks.host.HostBenchmarks;
import io.asyncify4j.host.Engine;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Suspend+resume round trips per second on JMH: the variants of {@link HostBenchmarks#roundTrips()}
 * (the PING module recursing {@code depth} levels to an import whose future a completer thread
 * completes), each in JVMs of its own. {@code asyncify}: asyncified, the import async (the guest is
 * suspended and resumed); {@code platformThread} and {@code virtualThread}: the plain module, its import
 * blocking until completion, on a platform thread or (JDK 21+) a virtual thread.
 *
 * <pre>
 * mvn -B -q -DskipTests package -pl benchmarks-jmh -am
 * java -cp "benchmarks-jmh/target/classes:benchmarks-jmh/target/lib/*" org.openjdk.jmh.Main RoundTripBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "-Xss64m")
public class RoundTripBenchmark {
    /** Round trips per benchmark invocation (one call of the guest's loop). */
    static final int BATCH = 1000;

    @Param({"1", "10", "100"})
    public int depth;

    @Param({"INTERPRETER", "COMPILER"})
    public Engine engine;

    private HostBenchmarks.RoundTripVariant asyncify;
    private HostBenchmarks.RoundTripVariant platform;
    private HostBenchmarks.RoundTripVariant virtual;
    private ExecutorService virtualThreads;

    @Setup(Level.Trial)
    public void setUp() {
        asyncify = HostBenchmarks.asyncifyVariant(engine, depth);
        platform = HostBenchmarks.blockingVariant(engine, depth, null);
        virtualThreads = HostBenchmarks.virtualThreadExecutor();
        if (virtualThreads != null) {
            virtual = HostBenchmarks.blockingVariant(engine, depth, virtualThreads);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        asyncify.close();
        platform.close();
        if (virtual != null) {
            virtual.close();
            virtualThreads.shutdown();
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public double asyncify() throws Exception {
        return asyncify.run(BATCH);
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public double platformThread() throws Exception {
        return platform.run(BATCH);
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public double virtualThread() throws Exception {
        if (virtual == null) {
            throw new IllegalStateException("virtual threads need JDK 21+, this is JDK " + Runtime.version().feature());
        }
        return virtual.run(BATCH);
    }
}
