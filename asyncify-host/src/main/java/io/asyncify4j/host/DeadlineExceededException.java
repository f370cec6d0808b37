package io.asyncify4j.host;

import com.dylibso.chicory.wasm.ChicoryException;
import java.time.Duration;

/** A call ran past its wall-clock deadline and was terminated; its instance is discarded. */
public class DeadlineExceededException extends ChicoryException {
    public DeadlineExceededException(String export, Duration deadline) {
        super("deadline exceeded: the call to '" + export + "' did not finish within " + deadline.toMillis() + " ms");
    }
}
