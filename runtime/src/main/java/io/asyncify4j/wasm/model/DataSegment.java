package io.asyncify4j.wasm.model;

import io.asyncify4j.wasm.ir.Instruction;
import java.util.List;

/** A data segment; {@code offset} is null for passive segments. */
public record DataSegment(SegmentMode mode, int memoryIndex, List<Instruction> offset, byte[] bytes) {
    public DataSegment {
        offset = offset == null ? null : List.copyOf(offset);
    }
}
