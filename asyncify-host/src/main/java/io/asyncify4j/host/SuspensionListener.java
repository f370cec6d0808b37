package io.asyncify4j.host;

/**
 * Observes calls being suspended and resumed (logging, metrics, demos). Callbacks run on the thread
 * running the instance, so they must be quick and must not call into the instance.
 */
public interface SuspensionListener {
    /** The call to {@code export} unwound at async import {@code asyncImport} and is now suspended. */
    default void suspended(String export, String asyncImport) {}

    /** The import's future completed: the call to {@code export} is about to be rewound. */
    default void resuming(String export) {}

    /** The rewind reached {@code asyncImport} again: the guest continues from there. */
    default void resumed(String export, String asyncImport) {}
}
