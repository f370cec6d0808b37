package io.asyncify4j.spectest.report;

/**
 * A command whose outcome differed from the script's expectation.
 *
 * @param script the script id
 * @param line the command's line in the {@code .wast}
 * @param command a short description of the command
 * @param expected what the script expected
 * @param actual what happened
 * @param expectedFailureReason the reason of the matching expected-failure entry, or {@code null}
 *     for an unexpected failure
 */
public record CommandFailure(
        String script, int line, String command, String expected, String actual, String expectedFailureReason) {

    public boolean isExpected() {
        return expectedFailureReason != null;
    }

    /** {@code script:line: command} followed by indented expected/actual lines. */
    public String format() {
        StringBuilder sb = new StringBuilder();
        sb.append(script).append(':').append(line).append(": ").append(command).append('\n');
        sb.append("    expected: ").append(expected).append('\n');
        sb.append("    actual:   ").append(actual);
        if (isExpected()) {
            sb.append('\n').append("    (expected failure: ").append(expectedFailureReason).append(')');
        }
        return sb.toString();
    }
}
