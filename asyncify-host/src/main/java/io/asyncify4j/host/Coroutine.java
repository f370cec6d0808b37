package io.asyncify4j.host;

import run.endive.runtime.ExportFunction;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;

/**
 * One call into the guest, from its start through every suspension to its result; it is itself the
 * future handed to the caller, and the completion hook of the host future it is suspended on.
 *
 * <p>Kept small, since one lives per suspended call: giving up the call (cancelling or failing this
 * future) reaches the instance through {@link #completeExceptionally} and {@link #cancel} rather than
 * through a completion stage registered on it, the host future's completion reaches it as its
 * {@link BiConsumer} rather than through a lambda, its saved stack is only the frame bytes when it holds
 * no references and no per-call globals, and its arguments are dropped once it has started (a rewind
 * restores the values the guest still needs from the saved frames, never from the arguments). The
 * fields that lead back to the instance are cleared when the call is over, so a finished future held by
 * the caller does not keep the instance alive.
 */
final class Coroutine extends CompletableFuture<long[]> implements BiConsumer<long[], Throwable> {
    enum Phase { WAITING, RUNNING, SUSPENDED, DONE }

    private static final long[] NO_GLOBALS = new long[0];

    final String export;
    /** The instance the call runs on (null once the call is over, or for a nested call). */
    private volatile AsyncInstance owner;
    /** The export's function and arity (null once the call is over). */
    Target target;
    /** The arguments until the call starts, then null (see {@link #arguments()}). */
    private long[] args;
    /** The call this one runs inside (itself when not nested): fuel, budget, deadline and cancellation are its. */
    final Coroutine root;
    volatile Phase phase = Phase.WAITING;
    /** The host future the call is suspended on. */
    volatile CompletableFuture<long[]> pending;
    /** The async import it is suspended in. */
    AsyncImport pendingImport;
    /** The moved-out stack while suspended: its frame bytes alone, or a {@link SavedStack} with references or globals. */
    private Object saved;
    long[] resumeValue;
    /** Fuel charged to this call so far (root calls only: nested calls charge their root). */
    long fuelUsed;
    /** The shadow-stack pointer (an i32 global) when the call started (restored if it is abandoned), when the guest has one. */
    int stackPointerAtStart;

    /** An export to call: its function (with externref handles) and the slots its arguments take. */
    record Target(String export, ExportFunction function, int slots) {}

    Coroutine(String export, Target target, long[] args, Coroutine outer, AsyncInstance owner) {
        this.export = export;
        this.target = target;
        this.args = args;
        this.root = outer == null ? this : outer.root;
        this.owner = outer == null ? owner : null;
    }

    /** True for a call made from inside a host function while the instance runs: it cannot suspend. */
    boolean nested() {
        return root != this;
    }

    /**
     * The arguments to call the export with: the caller's the first time, zeros at a resume, where the
     * rewind restores the guest's locals from the saved frames and ignores the arguments.
     */
    long[] arguments() {
        long[] a = args;
        if (a == null) {
            return new long[target.slots()];
        }
        args = null;
        return a;
    }

    void save(SavedStack stack) {
        saved = stack.refs().isEmpty() && stack.globals().length == 0 ? stack.frames() : stack;
    }

    /** The saved stack, or null when the call holds none. */
    SavedStack saved() {
        Object s = saved;
        return s instanceof byte[] frames ? new SavedStack(frames, List.of(), NO_GLOBALS) : (SavedStack) s;
    }

    void dropSaved() {
        saved = null;
    }

    /** Bytes of the saved stack held (0 when none). */
    long savedBytes() {
        Object s = saved;
        return s instanceof byte[] frames ? frames.length : s == null ? 0 : ((SavedStack) s).bytes();
    }

    /** The call is over: it keeps its result only. */
    void release() {
        owner = null;
        target = null;
        args = null;
        saved = null;
        pending = null;
        pendingImport = null;
        resumeValue = null;
    }

    boolean preempted() {
        AsyncImport p = pendingImport;
        return p != null && p.module().equals(io.asyncify4j.asyncify.AsyncifyAbi.SUSPEND_MODULE)
                && p.name().equals(io.asyncify4j.asyncify.AsyncifyAbi.FUEL_EXHAUSTED_IMPORT);
    }

    /** The host future the call is suspended on completed: the instance resumes (or drops) the call. */
    @Override
    public void accept(long[] value, Throwable failure) {
        AsyncInstance o = owner;
        if (o != null) {
            o.resumeLater(this, value, failure);
        }
    }

    @Override
    public boolean completeExceptionally(Throwable ex) {
        return givenUp(super.completeExceptionally(ex));
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        return givenUp(super.cancel(mayInterruptIfRunning));
    }

    /** Forcing a failure on the caller's future gives the call up too, as cancelling it does. */
    @Override
    public void obtrudeException(Throwable ex) {
        super.obtrudeException(ex);
        givenUp(true);
    }

    /** {@code done}: this future was just completed exceptionally or cancelled; the instance gives the call up. */
    private boolean givenUp(boolean done) {
        AsyncInstance o = owner;
        if (done && o != null) {
            o.abandon(this);
        }
        return done;
    }

    /** Not a {@link Coroutine}: stages made from this future are plain futures. */
    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
        return new CompletableFuture<>();
    }
}
