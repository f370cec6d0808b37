package io.asyncify4j.wasm.model;

/**
 * An import. Exactly one of the descriptors matching {@link #kind} is set: {@code typeIndex} for
 * functions and tags, otherwise the table, memory or global type.
 */
public record Import(String module, String name, ExternalKind kind, int typeIndex,
                     TableType table, MemoryType memory, GlobalType global) {

    public static Import function(String module, String name, int typeIndex) {
        return new Import(module, name, ExternalKind.FUNCTION, typeIndex, null, null, null);
    }

    public static Import tag(String module, String name, int typeIndex) {
        return new Import(module, name, ExternalKind.TAG, typeIndex, null, null, null);
    }

    public static Import table(String module, String name, TableType type) {
        return new Import(module, name, ExternalKind.TABLE, -1, type, null, null);
    }

    public static Import memory(String module, String name, MemoryType type) {
        return new Import(module, name, ExternalKind.MEMORY, -1, null, type, null);
    }

    public static Import global(String module, String name, GlobalType type) {
        return new Import(module, name, ExternalKind.GLOBAL, -1, null, null, type);
    }

    @Override
    public String toString() {
        return module + "." + name;
    }
}
