package io.asyncify4j.cli;

/** A failure the CLI reports as one line with a specific exit code. */
final class CliException extends RuntimeException {
    private final int exitCode;

    CliException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    CliException(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    static CliException badInput(String message) {
        return new CliException(Main.BAD_INPUT, message);
    }

    static CliException badInput(String message, Throwable cause) {
        return new CliException(Main.BAD_INPUT, message, cause);
    }

    int exitCode() {
        return exitCode;
    }
}
