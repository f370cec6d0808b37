package io.asyncify4j.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import org.slf4j.LoggerFactory;

/** Log levels: WARN on stderr by default ({@code logback.xml}); {@code --verbose} raises asyncify4j's to DEBUG. */
final class Logging {
    private Logging() {}

    static void configure(boolean verbose) {
        if (verbose && LoggerFactory.getLogger("io.asyncify4j") instanceof Logger) {
            ((Logger) LoggerFactory.getLogger("io.asyncify4j")).setLevel(Level.DEBUG);
        }
    }
}
