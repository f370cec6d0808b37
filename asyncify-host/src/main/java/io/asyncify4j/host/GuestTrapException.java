package io.asyncify4j.host;

/** The guest trapped; the cause is the engine's trap. The instance stays usable. */
public final class GuestTrapException extends GuestTerminatedException {
    GuestTrapException(String export, Throwable trap) {
        super(export, "the call to '" + export + "' trapped: " + trap.getMessage(), trap);
    }

    @Override
    public boolean instanceUsable() {
        return true;
    }
}
