package io.asyncify4j.host;

import java.time.Duration;

/**
 * A call ran past its wall-clock deadline and was terminated. Stopped while running, it discards the
 * instance; while it waited for its turn or was suspended, the instance stays usable.
 */
public final class DeadlineExceededException extends GuestTerminatedException {
    private final boolean wasRunning;

    DeadlineExceededException(String export, Duration deadline, boolean wasRunning) {
        super(export, "deadline exceeded: the call to '" + export + "' did not finish within "
                + deadline.toMillis() + " ms", null);
        this.wasRunning = wasRunning;
    }

    @Override
    public boolean instanceUsable() {
        return !wasRunning;
    }
}
