package io.asyncify4j.samples;

import java.io.PrintStream;

/** A runnable example: {@code ./asyncify4j sample NAME}. */
public interface Sample {
    String name();

    String description();

    /** Runs the sample, printing for people to {@code out}. */
    void run(PrintStream out) throws Exception;
}
