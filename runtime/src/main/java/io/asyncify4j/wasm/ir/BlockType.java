package io.asyncify4j.wasm.ir;

import io.asyncify4j.wasm.model.ValType;

/**
 * The type of a block, loop, if or try_table: empty, a single result, or a type index giving params
 * and results. Exactly one of the forms holds: {@code typeIndex >= 0}, or {@code result} non-null, or
 * neither (empty).
 */
public record BlockType(ValType result, int typeIndex) {
    public static final BlockType EMPTY = new BlockType(null, -1);

    public static BlockType of(ValType result) {
        return new BlockType(result, -1);
    }

    public static BlockType ofTypeIndex(int typeIndex) {
        return new BlockType(null, typeIndex);
    }

    public boolean isEmpty() {
        return result == null && typeIndex < 0;
    }

    public boolean hasTypeIndex() {
        return typeIndex >= 0;
    }

    @Override
    public String toString() {
        return typeIndex >= 0 ? "(type " + typeIndex + ")" : result == null ? "" : "(result " + result + ")";
    }
}
