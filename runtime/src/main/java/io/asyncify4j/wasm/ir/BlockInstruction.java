package io.asyncify4j.wasm.ir;

import java.util.List;

/** {@code block} or {@code loop}. */
public final class BlockInstruction extends StructuredInstruction {
    public BlockInstruction(Opcode opcode, BlockType blockType, List<Instruction> body) {
        super(opcode, blockType, body);
        if (opcode != Opcode.BLOCK && opcode != Opcode.LOOP) {
            throw new IllegalArgumentException("not a block or loop: " + opcode);
        }
    }

    public static BlockInstruction block(BlockType type, List<Instruction> body) {
        return new BlockInstruction(Opcode.BLOCK, type, body);
    }

    public static BlockInstruction loop(BlockType type, List<Instruction> body) {
        return new BlockInstruction(Opcode.LOOP, type, body);
    }
}
