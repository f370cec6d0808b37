package io.asyncify4j.wasm.ir;

import java.util.ArrayList;
import java.util.List;

/** A block-structured instruction: owns its body (and, for {@code if}, an else body). */
public abstract sealed class StructuredInstruction extends Instruction
        permits BlockInstruction, IfInstruction, TryTableInstruction {
    private final BlockType blockType;
    private final List<Instruction> body;

    protected StructuredInstruction(Opcode opcode, BlockType blockType, List<Instruction> body) {
        super(opcode);
        this.blockType = blockType;
        this.body = new ArrayList<>(body);
    }

    public BlockType blockType() {
        return blockType;
    }

    /** The (mutable) body; for {@code if}, the then-arm. */
    public List<Instruction> body() {
        return body;
    }

    /** Whether a branch to this construct's label jumps to its start (loops) rather than its end. */
    public boolean labelIsLoopHeader() {
        return opcode() == Opcode.LOOP;
    }

    @Override
    public String toString() {
        return opcode().textName() + " " + blockType + " [" + body.size() + " instr]";
    }
}
