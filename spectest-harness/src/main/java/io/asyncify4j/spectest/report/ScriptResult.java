package io.asyncify4j.spectest.report;

import java.util.ArrayList;
import java.util.List;

/**
 * The outcome of one script in one mode.
 *
 * <p>Counting: every command of the script counts once, as passed, failed, skipped, or expected
 * failure. A script that could not be run at all (wabt cannot convert it) counts as one skipped
 * command and carries {@link #skipReason}. Expected failures are reported separately but are added
 * to the skipped count of summary lines ({@link #skippedTotal}).
 */
public final class ScriptResult {
    private final String script;
    private final String mode;
    private int passed;
    private int failed;
    private int skipped;
    private int expectedFailures;
    private String skipReason;
    private final List<CommandFailure> failures = new ArrayList<>();
    private final List<CommandFailure> expectedFailureDetails = new ArrayList<>();
    private final List<String> skips = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();
    private long millis;
    private long suspensions;

    public ScriptResult(String script, String mode) {
        this.script = script;
        this.mode = mode;
    }

    public static ScriptResult skippedScript(String script, String mode, String reason) {
        ScriptResult r = new ScriptResult(script, mode);
        r.skipReason = reason;
        r.skipped = 1;
        return r;
    }

    public void pass() {
        passed++;
    }

    public void fail(CommandFailure failure) {
        if (failure.isExpected()) {
            expectedFailures++;
            expectedFailureDetails.add(failure);
        } else {
            failed++;
            failures.add(failure);
        }
    }

    public void skip(int line, String reason) {
        skipped++;
        skips.add(line + ": " + reason);
    }

    public void warn(String warning) {
        warnings.add(warning);
    }

    public void setMillis(long millis) {
        this.millis = millis;
    }

    /** Records how many times the mode suspended and resumed guests while running the script. */
    public void setSuspensions(long suspensions) {
        this.suspensions = suspensions;
    }

    public long suspensions() {
        return suspensions;
    }

    public String script() {
        return script;
    }

    public String mode() {
        return mode;
    }

    public int passed() {
        return passed;
    }

    /** Unexpected failures. */
    public int failed() {
        return failed;
    }

    /** Skipped commands, not counting expected failures. */
    public int skipped() {
        return skipped;
    }

    public int expectedFailures() {
        return expectedFailures;
    }

    /** Skipped commands plus expected failures: the "skipped" of summary lines. */
    public int skippedTotal() {
        return skipped + expectedFailures;
    }

    /** Why the whole script was skipped, or {@code null} when it ran. */
    public String skipReason() {
        return skipReason;
    }

    public boolean ran() {
        return skipReason == null;
    }

    public List<CommandFailure> failures() {
        return failures;
    }

    public List<CommandFailure> expectedFailureDetails() {
        return expectedFailureDetails;
    }

    /** {@code line: reason} of every skipped command. */
    public List<String> skips() {
        return skips;
    }

    public List<String> warnings() {
        return warnings;
    }

    public long millis() {
        return millis;
    }

    @Override
    public String toString() {
        return script + " [" + mode + "]: " + passed + " passed, " + failed + " failed, " + skippedTotal() + " skipped";
    }
}
