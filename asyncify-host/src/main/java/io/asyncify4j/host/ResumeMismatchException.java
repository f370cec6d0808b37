package io.asyncify4j.host;

import com.dylibso.chicory.wasm.ChicoryException;

/**
 * Resuming a suspended call reached a different function than the one that suspended: typically a
 * {@code call_indirect} whose table slot was replaced (by another call or by the host) while the call
 * was suspended. Detected before the other function's frame was used, so nothing of the suspended call
 * is resumed in the wrong function; the call fails, and its suspended state is dropped.
 */
public class ResumeMismatchException extends ChicoryException {
    private final String function;

    public ResumeMismatchException(String function, Throwable trap) {
        super("cannot resume a suspended call: " + function + " was reached while resuming a frame it did not "
                + "save (the target of an indirect call changed while the call was suspended)", trap);
        this.function = function;
    }

    /** The function that found the mismatch (the wrong callee, or the caller it returned to). */
    public String function() {
        return function;
    }
}
