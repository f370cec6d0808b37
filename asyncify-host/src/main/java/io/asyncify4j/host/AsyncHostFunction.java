package io.asyncify4j.host;

import run.endive.runtime.Instance;
import java.util.concurrent.CompletionStage;

/**
 * The implementation of an async import: returns a stage that completes with the import's results
 * (one {@code long} per result slot, as Endive passes values; {@code null} or empty for none).
 * While the stage is pending the calling guest is suspended and holds no thread; a stage that is
 * already complete when returned is used at once, without suspending.
 */
@FunctionalInterface
public interface AsyncHostFunction {
    CompletionStage<long[]> apply(Instance instance, long... args);
}
