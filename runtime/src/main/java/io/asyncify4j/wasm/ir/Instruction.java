package io.asyncify4j.wasm.ir;

/**
 * A node of the structured IR of a function body or constant expression. Structured instructions
 * ({@link BlockInstruction}, {@link IfInstruction}, {@link TryTableInstruction}) own their nested
 * bodies, so {@code else} and {@code end} never appear as nodes. Nodes compare by identity, which lets
 * analyses key side tables (such as operand-stack types) by node.
 */
public abstract sealed class Instruction permits SimpleInstruction, StructuredInstruction {
    private final Opcode opcode;

    protected Instruction(Opcode opcode) {
        this.opcode = opcode;
    }

    public Opcode opcode() {
        return opcode;
    }

    /** Whether control never falls through to the next instruction. */
    public boolean isUnconditionalTransfer() {
        switch (opcode) {
            case UNREACHABLE: case BR: case BR_TABLE: case RETURN: case THROW: case THROW_REF:
            case RETURN_CALL: case RETURN_CALL_INDIRECT: case RETURN_CALL_REF:
                return true;
            default:
                return false;
        }
    }
}
