package io.asyncify4j.spectest.report;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.Locale;

/**
 * Human-readable reports, written to a writer the caller provides (the CLI passes stdout).
 *
 * <p>Expected failures (entries of the expected-failure list) are counted in the "skipped" figure of
 * every summary line; the per-mode totals line breaks them out.
 */
public final class TextReport {
    private TextReport() {}

    /** One progress line for a finished script. */
    public static String progressLine(ScriptResult r) {
        StringBuilder sb = new StringBuilder();
        sb.append('[').append(r.mode()).append("] ").append(r.script()).append(": ");
        if (!r.ran()) {
            sb.append("skipped (").append(r.skipReason()).append(')');
            return sb.toString();
        }
        sb.append(SuiteReport.summaryLine(r.passed(), r.failed(), r.skippedTotal()));
        if (r.expectedFailures() > 0) {
            sb.append(" (").append(r.expectedFailures()).append(" expected failures)");
        }
        sb.append(String.format(Locale.ROOT, " in %.1f s", r.millis() / 1000.0));
        return sb.toString();
    }

    /** The report of one mode: failing scripts, failures (all details when verbose), warnings, totals. */
    public static void writeModeReport(PrintWriter out, SuiteReport report, boolean verbose) {
        out.printf(Locale.ROOT, "== mode %s: %d scripts in %.1f s ==%n", report.mode(), report.scripts().size(), report.millis() / 1000.0);
        for (ScriptResult r : report.scripts()) {
            if (r.failed() > 0) {
                out.printf("FAILED %s: %d unexpected failure(s)%n", r.script(), r.failed());
                List<CommandFailure> failures = r.failures();
                int shown = verbose ? failures.size() : Math.min(3, failures.size());
                for (int i = 0; i < shown; i++) {
                    out.println(indent(failures.get(i).format()));
                }
                if (shown < failures.size()) {
                    out.printf("  ... %d more (use --verbose to see every failure)%n", failures.size() - shown);
                }
            }
            if (verbose) {
                if (r.expectedFailures() > 0) {
                    // one line per distinct reason: SIMD scripts alone have thousands of expected failures
                    Map<String, Long> reasons = r.expectedFailureDetails().stream()
                            .collect(Collectors.groupingBy(CommandFailure::expectedFailureReason, LinkedHashMap::new, Collectors.counting()));
                    reasons.forEach((reason, n) -> out.printf("EXPECTED %s: %d failure(s): %s%n", r.script(), n, reason));
                }
                if (!r.ran()) {
                    out.printf("SKIPPED %s: %s%n", r.script(), r.skipReason());
                }
            }
        }
        for (String w : report.warnings()) {
            out.println("WARNING " + w);
        }
        out.printf(
                "%s: %s (skipped includes %d expected failures; %d scripts not run%s)%n",
                report.mode(), report.summaryLine(), report.expectedFailures(), report.scriptsNotRun(),
                report.suspensions() > 0 ? "; " + report.suspensions() + " suspensions" : "");
        out.flush();
    }

    private static String indent(String text) {
        return "  " + text.replace("\n", "\n  ");
    }
}
