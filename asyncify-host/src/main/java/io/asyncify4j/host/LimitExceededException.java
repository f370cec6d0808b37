package io.asyncify4j.host;

/**
 * A call needed more of a bounded resource than allowed, or the host broke a contract with the guest
 * (an async import completing with a wrong number of values). Detected before the guest saw anything
 * inconsistent: the call fails and the instance stays usable.
 */
public non-sealed class LimitExceededException extends GuestTerminatedException {
    public LimitExceededException(String export, String message, Throwable cause) {
        super(export, message, cause);
    }

    @Override
    public boolean instanceUsable() {
        return true;
    }
}
