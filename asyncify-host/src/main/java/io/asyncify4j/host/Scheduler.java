package io.asyncify4j.host;

import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Time-slices many metered guests on a fixed pool of worker threads: every slice of guest code gets a
 * fuel quantum; a guest whose quantum runs out is preempted and queued behind the work already waiting
 * (round robin), so CPU-bound guests share the workers and never starve others; a guest awaiting an
 * async import holds no worker. Higher-priority guests' slices run first, with aging: a slice gains a
 * priority level for every {@value #AGING_SLICES} slices queued after it, so no runnable guest waits
 * forever behind busier, higher-priority ones. A guest's weight multiplies its quantum.
 *
 * <p>{@link #close()} closes every guest built with this scheduler: their waiting, suspended and running
 * calls fail with {@link InstanceClosedException} (running ones at their next fuel check), so no future
 * is left pending.
 *
 * <pre>{@code
 * try (Scheduler scheduler = Scheduler.builder().withWorkers(2).withQuantum(50_000).build()) {
 *     AsyncInstance guest = scheduler.guest(AsyncInstance.builder(wasm).withFuelBudget(10_000_000)).build();
 *     guest.call("main");
 * }
 * }</pre>
 */
public final class Scheduler implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Scheduler.class);

    /** Queued slices after which a waiting slice counts as one priority level higher. */
    static final int AGING_SLICES = 64;

    private final long quantum;
    private final java.util.Set<AsyncInstance> guests =
            java.util.Collections.synchronizedSet(java.util.Collections.newSetFromMap(new java.util.WeakHashMap<>()));
    private final PriorityBlockingQueue<Slice> ready = new PriorityBlockingQueue<>();
    private final AtomicLong sequence = new AtomicLong();
    private final Thread[] workers;
    private volatile boolean closed;
    private boolean started;

    /**
     * A queued piece of guest work. Ordered by priority aged by arrival: {@code priority * AGING_SLICES -
     * sequence}, highest first (all waiting slices age at the same rate, so the order between two of
     * them never changes while they wait and a heap keeps it), then arrival order.
     */
    private record Slice(int priority, long sequence, Runnable task) implements Comparable<Slice> {
        long rank() {
            return (long) priority * AGING_SLICES - sequence;
        }

        @Override
        public int compareTo(Slice o) {
            int byRank = Long.compare(o.rank(), rank());
            return byRank != 0 ? byRank : Long.compare(sequence, o.sequence);
        }
    }

    private Scheduler(Builder b) {
        this.quantum = b.quantum;
        this.workers = new Thread[b.workers];
        AtomicInteger n = new AtomicInteger();
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Thread(null, this::work, "asyncify4j-scheduler-" + n.incrementAndGet(), GuestThreads.STACK_BYTES);
            workers[i].setDaemon(true);
        }
        if (!b.startPaused) {
            start();
        }
    }

    /**
     * Starts the workers (once; a scheduler starts at once unless built paused). Starting paused lets
     * a host queue several calls first, so their slices interleave in a reproducible order.
     */
    public synchronized Scheduler start() {
        if (!started) {
            started = true;
            for (Thread t : workers) {
                t.start();
            }
        }
        return this;
    }

    public static Builder builder() {
        return new Builder();
    }

    private void work() {
        while (!closed) {
            Slice s;
            try {
                s = ready.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (s == null) {
                continue;
            }
            try {
                s.task().run();
            } catch (RuntimeException | Error e) {
                LOG.warn("guest task failed outside a call", e);
            }
        }
    }

    /** An executor whose tasks are queued at {@code priority} (higher runs first). */
    private Executor executor(int priority) {
        return task -> {
            if (closed) {
                throw new java.util.concurrent.RejectedExecutionException("scheduler is closed");
            }
            ready.add(new Slice(priority, sequence.getAndIncrement(), task));
        };
    }

    /**
     * Configures {@code builder} to run on this scheduler, with its own settings: its slices are queued at
     * its {@link AsyncInstance.Builder#withPriority priority} and each is its
     * {@link AsyncInstance.Builder#withWeight weight} times its own
     * {@link AsyncInstance.Builder#withFuelQuantum quantum}, or this scheduler's when it set none. A guest
     * with an executor of its own cannot run on the scheduler's workers: refused with
     * {@link IllegalArgumentException}.
     */
    public AsyncInstance.Builder guest(AsyncInstance.Builder builder) {
        Objects.requireNonNull(builder);
        if (builder.hasExecutor()) {
            throw new IllegalArgumentException("the guest has an executor of its own (withExecutor): a scheduler's "
                    + "guests run on its workers");
        }
        long base = builder.quantum() > 0 ? builder.quantum() : quantum;
        long slice;
        try {
            slice = Math.multiplyExact(base, (long) builder.weight());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("quantum " + base + " times weight " + builder.weight() + " overflows a long");
        }
        return builder.withExecutor(executor(builder.priority())).withFuelQuantum(slice).onScheduler(this);
    }

    /** Slices waiting for a worker. */
    public int queued() {
        return ready.size();
    }

    void register(AsyncInstance guest) {
        guests.add(guest);
        if (closed) {
            guest.close();
        }
    }

    void unregister(AsyncInstance guest) {
        guests.remove(guest);
    }

    /**
     * Stops the workers and closes every guest built with this scheduler: every call not finished fails
     * with {@link InstanceClosedException}. Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        java.util.List<AsyncInstance> all;
        synchronized (guests) {
            all = new java.util.ArrayList<>(guests);
        }
        for (AsyncInstance g : all) {
            g.close();
        }
        ready.clear();
        for (Thread t : workers) {
            t.interrupt();
        }
    }

    /** Builder of {@link Scheduler}. */
    public static final class Builder {
        private int workers = Math.max(1, Runtime.getRuntime().availableProcessors());
        private long quantum = AsyncInstance.DEFAULT_QUANTUM;
        private boolean startPaused;

        private Builder() {}

        /** Do not run anything until {@link Scheduler#start()}. */
        public Builder withStartPaused(boolean paused) {
            this.startPaused = paused;
            return this;
        }

        /** Worker threads (default: one per processor). */
        public Builder withWorkers(int workers) {
            if (workers < 1) {
                throw new IllegalArgumentException("at least one worker is needed: " + workers);
            }
            this.workers = workers;
            return this;
        }

        /** Fuel units per slice (default {@link AsyncInstance#DEFAULT_QUANTUM}). */
        public Builder withQuantum(long quantum) {
            if (quantum < 1) {
                throw new IllegalArgumentException("quantum must be positive: " + quantum);
            }
            this.quantum = quantum;
            return this;
        }

        public Scheduler build() {
            return new Scheduler(this);
        }
    }
}
