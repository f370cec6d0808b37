package io.asyncify4j.wasm.model;

import io.asyncify4j.wasm.ir.Instruction;
import java.util.List;

/**
 * An element segment. Items are either function indices ({@code functionIndices} non-null, the compact
 * encoding) or constant expressions ({@code expressions} non-null). {@code explicitTable} records
 * whether an active segment spelled out its table index and element kind, so it is written back the same.
 */
public record ElementSegment(SegmentMode mode, int tableIndex, List<Instruction> offset, ValType type,
                             List<Integer> functionIndices, List<List<Instruction>> expressions,
                             boolean explicitTable) {
    public ElementSegment {
        offset = offset == null ? null : List.copyOf(offset);
        functionIndices = functionIndices == null ? null : List.copyOf(functionIndices);
        expressions = expressions == null ? null : expressions.stream().map(List::copyOf).toList();
    }

    public int size() {
        return functionIndices != null ? functionIndices.size() : expressions.size();
    }
}
