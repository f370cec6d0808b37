package io.asyncify4j.wasm.ir;

import java.util.List;

/** {@code try_table}: a block whose catch clauses branch to enclosing labels. */
public final class TryTableInstruction extends StructuredInstruction {
    private final List<Catch> catches;

    public TryTableInstruction(BlockType blockType, List<Catch> catches, List<Instruction> body) {
        super(Opcode.TRY_TABLE, blockType, body);
        this.catches = List.copyOf(catches);
    }

    public List<Catch> catches() {
        return catches;
    }
}
