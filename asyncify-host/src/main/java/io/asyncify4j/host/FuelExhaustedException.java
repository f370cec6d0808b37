package io.asyncify4j.host;

/** A call used up its fuel budget and was terminated; its instance is discarded. */
public final class FuelExhaustedException extends GuestTerminatedException {
    private final long budget;

    FuelExhaustedException(String export, long budget) {
        super(export, "fuel exhausted: the call to '" + export + "' used its whole budget of " + budget
                + " fuel units and was terminated", null);
        this.budget = budget;
    }

    public long budget() {
        return budget;
    }

    @Override
    public boolean instanceUsable() {
        return false;
    }
}
