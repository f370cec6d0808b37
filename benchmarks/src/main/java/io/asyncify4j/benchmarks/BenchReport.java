package io.asyncify4j.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.asyncify4j.benchmarks.BenchResults.LargeModuleResult;
import io.asyncify4j.benchmarks.BenchResults.Timing;
import io.asyncify4j.benchmarks.BenchResults.WorkloadResult;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** Renders {@link BenchResults} as Markdown tables (for a terminal and for docs) and as JSON. */
public final class BenchReport {
    private BenchReport() {}

    public static void writeJson(BenchResults results, Path file) throws IOException {
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), results);
    }

    public static String toJson(BenchResults results) throws IOException {
        return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(results);
    }

    public static String text(BenchResults r) {
        boolean bin = r.machine().binaryen() != null;
        boolean metered = r.workloads().stream().anyMatch(w -> w.oursMetered() != null);
        boolean unshaped = r.workloads().stream().anyMatch(w -> w.oursMeteredInterpreterShape() != null);
        StringBuilder sb = new StringBuilder();
        BenchResults.Settings s = r.settings();
        BenchResults.Machine m = r.machine();
        sb.append(f("Machine: %d processors, Java %s (%s), %s %s, max heap %d MiB%s; load average %.2f at start, "
                        + "%.2f at end%n", m.availableProcessors(), m.javaVersion(), m.javaVm(), m.os(), m.arch(),
                m.maxHeapBytes() >> 20, bin ? ", " + m.binaryen() : ", Binaryen not installed",
                m.loadAverageAtStart(), m.loadAverageAtEnd()));
        sb.append(f("Engine: %s; timed: %s; %d warmup + %d measured rounds, variants interleaved (rotating which goes first), a GC before each run.%n%n", s.engine(),
                s.timed(), s.warmupIterations(), s.measuredIterations()));

        sb.append(f("Run time: wall-clock median in ms (ratio to uninstrumented; ratio of the thread-CPU-time medians). Ours: import list %s; suspending: unwind to the host and "
                + "rewind at every %d-th async_tick call.%s%s%s%n%n", s.unwindingImports(), s.suspendEvery(),
                bin ? " Binaryen: `wasm-opt " + s.binaryenArgs() + "`, async_tick never unwinds; `-O only`: "
                        + "`wasm-opt -O` without asyncify, for reference." : "",
                metered ? f(" Metered: our transform with fuel metering, as the host runs every guest (refilled every "
                        + "%,d units, never preempted).", Benchmark.METERED_QUANTUM) : "",
                unshaped ? " Ours is shaped for the engine (AsyncifyOptions.Target); the interpreter's shape (running "
                        + "and resuming copies in one function, fuel checks unrolling loops) is run too, for comparison."
                        : ""));
        sb.append("| workload | async_tick calls | uninstrumented | ours | ours, suspending |");
        sb.append(unshaped ? " ours, interpreter's shape |" : "");
        sb.append(metered ? " ours, metered |" : "");
        sb.append(unshaped ? " ours, metered, interpreter's shape |" : "");
        sb.append(bin ? " Binaryen asyncify -O | wasm-opt -O only |\n" : "\n");
        sb.append("|---|---:|---:|---:|---:|").append(unshaped ? "---:|" : "").append(metered ? "---:|" : "")
                .append(unshaped ? "---:|" : "")
                .append(bin ? "---:|---:|\n" : "\n");
        for (WorkloadResult w : r.workloads()) {
            sb.append(f("| %s%s | %d | %.0f (CPU %.0f) | %s | %s, %d susp. |", w.name(),
                    w.args().isEmpty() ? "" : " " + String.join(" ", w.args()), w.asyncTickCalls(),
                    w.plain().medianMs(), w.plain().cpuMedianMs(),
                    cell(w.ours(), w.oursRatio(), w.oursCpuRatio()),
                    cell(w.oursSuspending(), w.oursSuspendingRatio(), w.oursSuspendingCpuRatio()),
                    w.suspensionsPerRunWithSuspendEvery()));
            if (unshaped) {
                sb.append(shapeCell(w.oursInterpreterShape(), w.plain()));
            }
            if (metered) {
                sb.append(w.oursMetered() == null ? " - |"
                        : " " + cell(w.oursMetered(), w.oursMeteredRatio(), w.oursMeteredCpuRatio()) + " |");
            }
            if (unshaped) {
                sb.append(shapeCell(w.oursMeteredInterpreterShape(), w.plain()));
            }
            if (bin) {
                sb.append(f(" %s | %s |", cell(w.binaryen(), w.binaryenRatio(), w.binaryenCpuRatio()),
                        cell(w.binaryenOptimizeOnly(), w.binaryenOptimizeOnlyRatio(), w.binaryenOptimizeOnlyCpuRatio())));
            }
            sb.append('\n');
        }

        sb.append(f("%nCode section, bytes (factor to the original); functions instrumented by us; transform time "
                + "(ours: decode, transform, encode in-process; Binaryen: the wasm-opt process).%n%n"));
        sb.append("| workload | original | ours | instrumented | ours transform ms |");
        sb.append(bin ? " Binaryen asyncify -O | wasm-opt ms |\n" : "\n");
        sb.append("|---|---:|---:|---:|---:|").append(bin ? "---:|---:|\n" : "\n");
        for (WorkloadResult w : r.workloads()) {
            sb.append(f("| %s | %d | %d (%.3fx) | %d of %d | %.1f |", w.name(), w.codeBytesOriginal(), w.codeBytesOurs(),
                    w.codeFactorOurs(), w.instrumentedFunctions(), w.functions(), w.oursTransformMs()));
            if (bin) {
                sb.append(f(" %d (%.3fx) | %.0f |", w.codeBytesBinaryen(), w.codeFactorBinaryen(),
                        w.binaryenTransformMs()));
            }
            sb.append('\n');
        }

        if (r.workloads().stream().anyMatch(w -> w.compileMs() != null)) {
            sb.append(f("%nCompiler: compiling each variant's module (once, ms) / instantiating from its classes "
                    + "(median ms per run)%s.%n%n", metered ? "; code section of the metered module" : ""));
            List<String> names = r.workloads().stream().filter(w -> w.compileMs() != null).findFirst().orElseThrow()
                    .compileMs().keySet().stream().toList();
            sb.append("| workload |");
            names.forEach(n -> sb.append(' ').append(n).append(" |"));
            sb.append(metered ? " metered code |\n" : "\n");
            sb.append("|---|").append("---:|".repeat(names.size())).append(metered ? "---:|\n" : "\n");
            for (WorkloadResult w : r.workloads()) {
                if (w.compileMs() == null) {
                    continue;
                }
                sb.append("| ").append(w.name()).append(" |");
                for (String n : names) {
                    Double c = w.compileMs().get(n);
                    Double i = w.instantiateMs() == null ? null : w.instantiateMs().get(n);
                    sb.append(c == null ? " - |" : f(" %.0f / %.2f |", c, i == null ? Double.NaN : i));
                }
                if (metered) {
                    sb.append(w.codeBytesOursMetered() == null ? " - |" : f(" %d (%.3fx) |", w.codeBytesOursMetered(),
                            (double) w.codeBytesOursMetered() / w.codeBytesOriginal()));
                }
                sb.append('\n');
            }
        }

        LargeModuleResult l = r.largeModule();
        if (l != null) {
            sb.append(f("%nLarge module: %s.%n%n", l.description()));
            sb.append("| module | functions | instrumented | ours: transform ms (decode + asyncify + encode) | ours code |");
            sb.append(bin ? " wasm-opt --asyncify ms (no -O) | Binaryen code (no -O) |\n" : "\n");
            sb.append("|---|---:|---:|---:|---:|").append(bin ? "---:|---:|\n" : "\n");
            sb.append(f("| %.2f MB, code %.2f MB | %d | %d | %.0f (%.0f + %.0f + %.0f) | %.3fx |", l.bytes() / 1e6,
                    l.codeBytes() / 1e6, l.functions(), l.instrumentedFunctions(), l.totalMs(), l.decodeMs(),
                    l.transformMs(), l.encodeMs(), l.codeFactorOurs()));
            if (bin) {
                sb.append(f(" %.0f | %.3fx |", l.binaryenAsyncifyMs(), l.codeFactorBinaryen()));
            }
            sb.append('\n');
        }

        sb.append(f("%nTargets (precise import list): run time <= %.2fx, code size <= %.2fx, no worse than Binaryen.%n",
                Benchmark.TARGET_OVERHEAD, Benchmark.TARGET_SIZE));
        for (String v : r.verdicts()) {
            sb.append("- ").append(v).append('\n');
        }
        if (!r.failures().isEmpty()) {
            sb.append(f("%nFAILURES (a variant behaved differently from the uninstrumented run):%n"));
            for (String fl : r.failures()) {
                sb.append("- ").append(fl).append('\n');
            }
        }
        return sb.toString();
    }

    private static String shapeCell(Timing t, Timing plain) {
        return t == null ? " - |" : " " + cell(t, t.ratioTo(plain), t.cpuRatioTo(plain)) + " |";
    }

    private static String cell(Timing t, Double ratio, Double cpuRatio) {
        return f("%.0f (%.3fx; CPU %.3fx)", t.medianMs(), ratio, cpuRatio);
    }

    private static String f(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}
