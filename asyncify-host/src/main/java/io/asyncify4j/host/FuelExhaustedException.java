package io.asyncify4j.host;

import com.dylibso.chicory.wasm.ChicoryException;

/** A call used up its fuel budget and was terminated; its instance is discarded. */
public class FuelExhaustedException extends ChicoryException {
    private final long budget;

    public FuelExhaustedException(String export, long budget) {
        super("fuel exhausted: the call to '" + export + "' used its whole budget of " + budget
                + " fuel units and was terminated");
        this.budget = budget;
    }

    public long budget() {
        return budget;
    }
}
