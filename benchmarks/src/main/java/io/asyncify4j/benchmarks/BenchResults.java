package io.asyncify4j.benchmarks;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The figures of one benchmark run (serialized as JSON by {@link BenchReport}). */
public record BenchResults(
        Machine machine,
        Settings settings,
        List<WorkloadResult> workloads,
        LargeModuleResult largeModule,
        List<String> verdicts,
        List<String> failures) {

    public BenchResults {
        workloads = List.copyOf(workloads);
        verdicts = List.copyOf(verdicts);
        failures = List.copyOf(failures);
    }

    /** Where the figures were taken. */
    public record Machine(int availableProcessors, String javaVersion, String javaVm, String os, String arch,
                          long maxHeapBytes, String binaryen, double loadAverageAtStart, double loadAverageAtEnd) {}

    /** How they were taken. */
    public record Settings(String workloadsDir, int warmupIterations, int measuredIterations,
                           String engine, String timed, String unwindingImports, long suspendEvery,
                           String binaryenArgs) {}

    /**
     * Run times of one variant, in milliseconds: wall-clock median, min, max and every sample; and the
     * median and samples of the running thread's CPU time, which time taken by other processes on the
     * machine does not inflate.
     */
    public record Timing(double medianMs, double minMs, double maxMs, List<Double> samplesMs,
                         double cpuMedianMs, List<Double> cpuSamplesMs) {
        public Timing {
            samplesMs = List.copyOf(samplesMs);
            cpuSamplesMs = List.copyOf(cpuSamplesMs);
        }

        /** This wall-clock median over {@code base}'s. */
        public double ratioTo(Timing base) {
            return medianMs / base.medianMs;
        }

        /** This CPU-time median over {@code base}'s. */
        public double cpuRatioTo(Timing base) {
            return cpuMedianMs / base.cpuMedianMs;
        }
    }

    /** One workload, all variants. Binaryen figures are null when wasm-opt is not installed. */
    public record WorkloadResult(
            String name,
            List<String> args,
            int exitCode,
            long asyncTickCalls,
            long suspensionsPerRunWithSuspendEvery,
            Timing plain,
            Timing ours,
            Timing oursSuspending,
            Timing binaryen,
            Timing binaryenOptimizeOnly,
            double oursRatio,
            double oursSuspendingRatio,
            Double binaryenRatio,
            Double binaryenOptimizeOnlyRatio,
            double oursMinRatio,
            Double binaryenMinRatio,
            double oursCpuRatio,
            double oursSuspendingCpuRatio,
            Double binaryenCpuRatio,
            Double binaryenOptimizeOnlyCpuRatio,
            long codeBytesOriginal,
            long codeBytesOurs,
            Long codeBytesBinaryen,
            double codeFactorOurs,
            Double codeFactorBinaryen,
            int functions,
            int instrumentedFunctions,
            double oursTransformMs,
            Double binaryenTransformMs,
            Timing oursMetered,
            Double oursMeteredRatio,
            Double oursMeteredCpuRatio,
            Long codeBytesOursMetered,
            Map<String, Double> compileMs,
            Map<String, Double> instantiateMs,
            Timing oursInterpreterShape,
            Timing oursMeteredInterpreterShape) {

        public WorkloadResult {
            args = List.copyOf(args);
            compileMs = compileMs == null ? null : Collections.unmodifiableMap(new LinkedHashMap<>(compileMs));
            instantiateMs = instantiateMs == null ? null : Collections.unmodifiableMap(new LinkedHashMap<>(instantiateMs));
        }

        /** Not metered; no compile or instantiation times. */
        public WorkloadResult(String name, List<String> args, int exitCode, long asyncTickCalls,
                long suspensionsPerRunWithSuspendEvery, Timing plain, Timing ours, Timing oursSuspending, Timing binaryen,
                Timing binaryenOptimizeOnly, double oursRatio, double oursSuspendingRatio, Double binaryenRatio,
                Double binaryenOptimizeOnlyRatio, double oursMinRatio, Double binaryenMinRatio, double oursCpuRatio,
                double oursSuspendingCpuRatio, Double binaryenCpuRatio, Double binaryenOptimizeOnlyCpuRatio,
                long codeBytesOriginal, long codeBytesOurs, Long codeBytesBinaryen, double codeFactorOurs,
                Double codeFactorBinaryen, int functions, int instrumentedFunctions, double oursTransformMs,
                Double binaryenTransformMs) {
            this(name, args, exitCode, asyncTickCalls, suspensionsPerRunWithSuspendEvery, plain, ours, oursSuspending,
                    binaryen, binaryenOptimizeOnly, oursRatio, oursSuspendingRatio, binaryenRatio,
                    binaryenOptimizeOnlyRatio, oursMinRatio, binaryenMinRatio, oursCpuRatio, oursSuspendingCpuRatio,
                    binaryenCpuRatio, binaryenOptimizeOnlyCpuRatio, codeBytesOriginal, codeBytesOurs, codeBytesBinaryen,
                    codeFactorOurs, codeFactorBinaryen, functions, instrumentedFunctions, oursTransformMs,
                    binaryenTransformMs, null, null, null, null, null, null, null, null);
        }
    }

    /**
     * The transform timed on a large module. Binaryen: one {@code wasm-opt --asyncify
     * --pass-arg=asyncify-imports@env.async_tick} run without {@code -O} (the transform alone), wall time of
     * the process; its code size is of that unoptimized output.
     */
    public record LargeModuleResult(
            String description,
            long bytes,
            long codeBytes,
            int functions,
            int instrumentedFunctions,
            double decodeMs,
            double transformMs,
            double encodeMs,
            double totalMs,
            List<Double> totalSamplesMs,
            long outputCodeBytes,
            double codeFactorOurs,
            Double binaryenAsyncifyMs,
            Long binaryenCodeBytes,
            Double codeFactorBinaryen) {

        public LargeModuleResult {
            totalSamplesMs = List.copyOf(totalSamplesMs);
        }
    }
}
