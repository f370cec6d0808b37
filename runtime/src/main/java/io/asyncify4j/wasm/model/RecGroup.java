package io.asyncify4j.wasm.model;

import java.util.List;

/**
 * A recursion group of the type section. A lone type written without {@code rec} is a group of one;
 * {@link #explicit} records whether the binary used the {@code rec} form so it is written back the same.
 */
public record RecGroup(List<SubType> types, boolean explicit) {
    public RecGroup {
        types = List.copyOf(types);
    }
}
