package io.asyncify4j.wasm.ir;

import io.asyncify4j.wasm.model.ValType;
import java.util.Arrays;
import java.util.List;

/**
 * A non-structured instruction: an opcode and its immediates laid out as {@link Immediates} describes.
 */
public final class SimpleInstruction extends Instruction {
    private static final long[] NO_IMMEDIATES = new long[0];

    /** Marks an instruction with exactly one immediate, kept in {@link #first} (most have at most one). */
    private static final long[] ONE = new long[0];

    // Immediates: none (more == NO_IMMEDIATES), one (in first; more == ONE), or several (in more). An
    // instruction of the IR is about 32 bytes of heap instead of 48 with an array of its own.
    private final long first;
    private final long[] more;
    private final List<ValType> types;

    public SimpleInstruction(Opcode opcode, long[] immediates, List<ValType> types) {
        super(opcode);
        if (opcode.immediates == Immediates.BLOCK || opcode.immediates == Immediates.TRY_TABLE) {
            throw new IllegalArgumentException(opcode + " is structured");
        }
        this.first = immediates.length == 1 ? immediates[0] : 0;
        this.more = immediates.length == 0 ? NO_IMMEDIATES : immediates.length == 1 ? ONE : immediates.clone();
        this.types = types.isEmpty() ? List.of() : List.copyOf(types);
    }

    public static SimpleInstruction of(Opcode opcode, long... immediates) {
        return new SimpleInstruction(opcode, immediates, List.of());
    }

    /** The immediates (a copy). */
    public long[] immediates() {
        return more == ONE ? new long[] {first} : more.clone();
    }

    /** Immediate {@code i} without copying. */
    public long immediate(int i) {
        if (more == ONE) {
            if (i != 0) {
                throw new ArrayIndexOutOfBoundsException(i);
            }
            return first;
        }
        return more[i];
    }

    public int immediateCount() {
        return more == ONE ? 1 : more.length;
    }

    /** The first immediate as an index (function, local, global, label...). */
    public int index() {
        return (int) immediate(0);
    }

    /** The value types of a typed {@code select}; empty otherwise. */
    public List<ValType> types() {
        return types;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(opcode().textName());
        for (long v : immediates()) {
            sb.append(' ').append(v);
        }
        for (ValType t : types) {
            sb.append(' ').append(t);
        }
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return this == o;
    }

    @Override
    public int hashCode() {
        return System.identityHashCode(this);
    }

    /** Structural equality, for tests. */
    public boolean sameAs(SimpleInstruction other) {
        return opcode() == other.opcode() && Arrays.equals(immediates(), other.immediates())
                && types.equals(other.types);
    }
}
