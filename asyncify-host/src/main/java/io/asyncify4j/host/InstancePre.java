package io.asyncify4j.host;

import java.util.Objects;

/**
 * A module linked: its imports checked against a {@link Linker} once ({@link Linker#instantiatePre}), so
 * that instances are made from it quickly. Immutable and thread-safe; instances made from it share the
 * module's code (and compiled code) and the linker's host functions, globals, memories and tables, and
 * have their own memory, tables, globals, WASI state and asyncify data.
 */
public final class InstancePre {
    private final AsyncModule module;
    private final Linker linker;

    InstancePre(AsyncModule module, Linker linker) {
        this.module = Objects.requireNonNull(module);
        this.linker = Objects.requireNonNull(linker);
    }

    /** The module it instantiates. */
    public AsyncModule module() {
        return module;
    }

    /** The linker its imports come from. */
    public Linker linker() {
        return linker;
    }

    /** A new instance with the default settings (as {@code builder().build()}). */
    public AsyncInstance instantiate() {
        return builder().build();
    }

    /**
     * A builder of an instance, for the settings that are per instance: fuel quantum and budget, deadline,
     * executor or {@link Scheduler}, listener, interleaving. Module and import settings belong to the
     * {@link AsyncModule} and the {@link Linker} and are refused there.
     */
    public AsyncInstance.Builder builder() {
        return new AsyncInstance.Builder(this);
    }

    @Override
    public String toString() {
        return "InstancePre[" + module.id() + "]";
    }
}
