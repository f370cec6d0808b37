package io.asyncify4j.host;

/**
 * A suspension needed more asyncify stack than allowed (exactly {@code maxAsyncifyStackBytes}): detected
 * before the call was suspended. The call fails; the instance stays usable for new calls.
 */
public final class AsyncifyStackOverflowException extends LimitExceededException {
    private final String function;

    AsyncifyStackOverflowException(String export, String function, long limitBytes, Throwable trap) {
        super(export, "asyncify stack overflow while suspending in " + function + ": the suspended call stack "
                + "needs more than " + limitBytes + " bytes (raise AsyncInstance.Builder.maxAsyncifyStackBytes)", trap);
        this.function = function;
    }

    /** The function whose frame did not fit, as named by the module's name section when it has one. */
    public String function() {
        return function;
    }
}
