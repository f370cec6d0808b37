package io.asyncify4j.host;

import run.endive.runtime.ExportFunction;
import java.util.concurrent.CompletableFuture;

/** One call into the guest, from its start through every suspension to its result. */
final class Coroutine {
    enum Phase { WAITING, RUNNING, SUSPENDED, DONE }

    final String export;
    final ExportFunction function;
    final long[] args;
    final CompletableFuture<long[]> result = new CompletableFuture<>();
    /** True for a call made from inside a host function while the instance runs: it cannot suspend. */
    final boolean nested;
    /** The call this one runs inside (itself when not nested): fuel, budget, deadline and cancellation are its. */
    final Coroutine root;
    volatile Phase phase = Phase.WAITING;
    /** The host future the call is suspended on. */
    volatile CompletableFuture<long[]> pending;
    /** The async import it is suspended in. */
    AsyncImport pendingImport;
    /** The moved-out stack while suspended. */
    SavedStack saved;
    long[] resumeValue;
    long suspensions;
    /** Fuel charged to this call so far (root calls only: nested calls charge their root). */
    long fuelUsed;
    /** The shadow-stack pointer when the call started (restored if it is abandoned), when the guest has one. */
    long stackPointerAtStart;

    Coroutine(String export, ExportFunction function, long[] args, Coroutine outer) {
        this.export = export;
        this.function = function;
        this.args = args;
        this.nested = outer != null;
        this.root = outer == null ? this : outer.root;
    }

    boolean preempted() {
        AsyncImport p = pendingImport;
        return p != null && p.module().equals(io.asyncify4j.asyncify.AsyncifyAbi.SUSPEND_MODULE)
                && p.name().equals(io.asyncify4j.asyncify.AsyncifyAbi.FUEL_EXHAUSTED_IMPORT);
    }
}
