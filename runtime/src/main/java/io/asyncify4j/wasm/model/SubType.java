package io.asyncify4j.wasm.model;

import java.util.List;

/** A defined type: its composite shape plus GC subtyping information (final, declared supertypes). */
public record SubType(boolean isFinal, List<Integer> supertypes, CompositeType composite) {
    public SubType {
        supertypes = List.copyOf(supertypes);
    }

    /** A final type without supertypes: what the MVP's plain {@code func} type means. */
    public static SubType plain(CompositeType composite) {
        return new SubType(true, List.of(), composite);
    }
}
