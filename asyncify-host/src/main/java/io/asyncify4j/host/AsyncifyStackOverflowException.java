package io.asyncify4j.host;

import com.dylibso.chicory.wasm.ChicoryException;

/**
 * A suspension needed more asyncify stack than allowed: detected before anything was written past the
 * stack's end. The call fails; the instance stays usable for new calls.
 */
public class AsyncifyStackOverflowException extends ChicoryException {
    private final String function;

    public AsyncifyStackOverflowException(String function, long limitBytes, Throwable trap) {
        super("asyncify stack overflow while suspending in " + function + ": the suspended call stack needs "
                + "more than " + limitBytes + " bytes (raise AsyncInstance.Builder.maxAsyncifyStackBytes)", trap);
        this.function = function;
    }

    /** The function whose frame did not fit, as named by the module's name section when it has one. */
    public String function() {
        return function;
    }
}
