package io.asyncify4j.host;

import run.endive.wasm.WasmEngineException;

/**
 * A call into a guest ended without a result: the one family of failures {@link AsyncInstance} completes
 * a call's future with (besides the exception of a failing async import, which is passed on as the host
 * gave it). Each kind says whether the instance can still take calls afterwards:
 *
 * <ul>
 *   <li>{@link GuestTrapException}: the guest trapped (unreachable, out-of-bounds access, ...); the
 *       instance stays usable, as after a trap in any wasm engine.
 *   <li>{@link LimitExceededException}: a resource limit was hit (asyncify stack, a bad async result);
 *       the call failed cleanly and the instance stays usable.
 *   <li>{@link FuelExhaustedException} (and {@link DeadlineExceededException} when the call was running): the call was stopped in the
 *       middle of guest code; the instance is discarded (its memory may be half-updated) and later calls
 *       fail with {@link InstanceClosedException}.
 *   <li>{@link CallCancelledException}: the call was abandoned; when it was stopped while running the
 *       instance is discarded, when it was waiting or suspended the instance stays usable.
 *   <li>{@link InstanceClosedException}: the instance was closed (or discarded, or its scheduler closed)
 *       before or while the call ran.
 * </ul>
 */
public abstract sealed class GuestTerminatedException extends WasmEngineException
        permits GuestTrapException, LimitExceededException, FuelExhaustedException, DeadlineExceededException,
        CallCancelledException, InstanceClosedException {
    private final String export;

    GuestTerminatedException(String export, String message, Throwable cause) {
        super(message, cause);
        this.export = export;
    }

    /** The export whose call ended (null when the failure was not tied to one call). */
    public String export() {
        return export;
    }

    /** Whether the instance can still be called after this failure. */
    public abstract boolean instanceUsable();
}
