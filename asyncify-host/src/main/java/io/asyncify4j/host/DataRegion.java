package io.asyncify4j.host;

/**
 * Where a module asyncified ahead of time by Binaryen keeps its asyncify data: a region of its own
 * memory 0 that the guest does not otherwise use, holding the {@code {position, end}} structure and
 * the stack.
 */
public sealed interface DataRegion {
    /** A fixed region: {@code size} bytes at {@code address}. */
    static DataRegion at(int address, int size) {
        return new Fixed(address, size);
    }

    /** A region obtained by calling the guest's allocator export (e.g. {@code malloc}) with {@code size}. */
    static DataRegion allocate(String allocatorExport, int size) {
        return new Allocated(allocatorExport, size);
    }

    int size();

    record Fixed(int address, int size) implements DataRegion {}

    record Allocated(String allocatorExport, int size) implements DataRegion {}
}
