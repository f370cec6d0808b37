package io.asyncify4j.wasm.ir;

import java.util.ArrayList;
import java.util.List;

/** {@code if} with its then-arm ({@link #body()}) and else-arm (empty when there is none). */
public final class IfInstruction extends StructuredInstruction {
    private final List<Instruction> elseBody;

    public IfInstruction(BlockType blockType, List<Instruction> thenBody, List<Instruction> elseBody) {
        super(Opcode.IF, blockType, thenBody);
        this.elseBody = new ArrayList<>(elseBody);
    }

    public List<Instruction> thenBody() {
        return body();
    }

    /** The (mutable) else-arm; empty when the if has no else. */
    public List<Instruction> elseBody() {
        return elseBody;
    }
}
