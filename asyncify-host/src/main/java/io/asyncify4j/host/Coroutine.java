package io.asyncify4j.host;

import com.dylibso.chicory.runtime.ExportFunction;
import java.util.concurrent.CompletableFuture;

/** One call into the guest, from its start through every suspension to its result. */
final class Coroutine {
    final String export;
    final ExportFunction function;
    final long[] args;
    final CompletableFuture<long[]> result = new CompletableFuture<>();
    /** True for a call made from inside a host function while the instance runs: it cannot suspend. */
    final boolean nested;
    /** The host future the call is suspended on. */
    CompletableFuture<long[]> pending;
    /** The async import ({@code module.name}) it is suspended in. */
    String pendingImport;
    /** The moved-out stack while suspended. */
    SavedStack saved;
    /** The value the async import returns when the rewind reaches it. */
    long[] resumeValue;
    long suspensions;
    /** Fuel charged to this call so far. */
    long fuelUsed;

    Coroutine(String export, ExportFunction function, long[] args, boolean nested) {
        this.export = export;
        this.function = function;
        this.args = args;
        this.nested = nested;
    }
}
