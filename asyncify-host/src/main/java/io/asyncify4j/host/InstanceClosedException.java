package io.asyncify4j.host;

/**
 * The instance was closed, discarded after a call was stopped mid-computation, or its scheduler was
 * closed: the call did not run, or was stopped. The instance takes no more calls.
 */
public final class InstanceClosedException extends GuestTerminatedException {
    InstanceClosedException(String export, String why, Throwable cause) {
        super(export, "the call to '" + export + "' failed: " + why, cause);
    }

    @Override
    public boolean instanceUsable() {
        return false;
    }
}
