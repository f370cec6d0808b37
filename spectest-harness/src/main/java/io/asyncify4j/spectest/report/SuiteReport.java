package io.asyncify4j.spectest.report;

import java.util.List;

/**
 * The outcome of a set of scripts in one mode.
 *
 * @param mode the mode id
 * @param scripts one result per script, in run order
 * @param millis wall-clock duration
 */
public record SuiteReport(String mode, List<ScriptResult> scripts, long millis) {

    public SuiteReport {
        scripts = List.copyOf(scripts);
    }

    public long passed() {
        return scripts.stream().mapToLong(ScriptResult::passed).sum();
    }

    /** Unexpected failures. */
    public long failed() {
        return scripts.stream().mapToLong(ScriptResult::failed).sum();
    }

    /** Skipped commands and scripts plus expected failures. */
    public long skipped() {
        return scripts.stream().mapToLong(ScriptResult::skippedTotal).sum();
    }

    public long expectedFailures() {
        return scripts.stream().mapToLong(ScriptResult::expectedFailures).sum();
    }

    /** Suspensions (unwind to the host, rewind, continue) performed by the mode. */
    public long suspensions() {
        return scripts.stream().mapToLong(ScriptResult::suspensions).sum();
    }

    public long scriptsNotRun() {
        return scripts.stream().filter(s -> !s.ran()).count();
    }

    public List<CommandFailure> failures() {
        return scripts.stream().flatMap(s -> s.failures().stream()).toList();
    }

    public List<String> warnings() {
        return scripts.stream().flatMap(s -> s.warnings().stream()).toList();
    }

    public boolean successful() {
        return failed() == 0;
    }

    /** {@code N passed, M failed, K skipped}. */
    public String summaryLine() {
        return summaryLine(passed(), failed(), skipped());
    }

    public static String summaryLine(long passed, long failed, long skipped) {
        return passed + " passed, " + failed + " failed, " + skipped + " skipped";
    }

    /** The summary line over several modes. */
    public static String summaryLine(List<SuiteReport> reports) {
        return summaryLine(
                reports.stream().mapToLong(SuiteReport::passed).sum(),
                reports.stream().mapToLong(SuiteReport::failed).sum(),
                reports.stream().mapToLong(SuiteReport::skipped).sum());
    }
}
