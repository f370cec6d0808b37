package io.asyncify4j.host;

/**
 * A call was abandoned: its future cancelled or timed out, or the call it was nested in was. A call
 * stopped while running discards the instance ({@link #instanceUsable()} false); one that was waiting
 * or suspended leaves it usable.
 */
public final class CallCancelledException extends GuestTerminatedException {
    private final boolean wasRunning;

    CallCancelledException(String export, boolean wasRunning) {
        super(export, "the call to '" + export + "' was cancelled" + (wasRunning ? " while running" : ""), null);
        this.wasRunning = wasRunning;
    }

    @Override
    public boolean instanceUsable() {
        return !wasRunning;
    }
}
