package io.asyncify4j.host;


/**
 * Resuming a suspended call reached a different function than the one that suspended: typically a
 * {@code call_indirect} whose table slot was replaced (by another call or by the host) while the call
 * was suspended. Detected before the other function's frame was used, so nothing of the suspended call
 * is resumed in the wrong function; the call fails, its suspended state is dropped, and the instance
 * stays usable.
 */
public final class ResumeMismatchException extends LimitExceededException {
    private final String function;

    ResumeMismatchException(String export, String function, Throwable trap) {
        super(export, "cannot resume a suspended call: " + function + " was reached while resuming a frame it did not "
                + "save (the target of an indirect call changed while the call was suspended)", trap);
        this.function = function;
    }

    /** The function that found the mismatch (the wrong callee, or the caller it returned to). */
    public String function() {
        return function;
    }
}
