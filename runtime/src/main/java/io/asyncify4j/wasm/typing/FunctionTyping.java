package io.asyncify4j.wasm.typing;

import io.asyncify4j.wasm.ir.Instruction;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/** The result of typing a function body: the operand stack before every instruction and at every body's end. */
public final class FunctionTyping {
    private final Map<Instruction, StackState> before = new IdentityHashMap<>();
    private final Map<List<Instruction>, StackState> atEnd = new IdentityHashMap<>();

    void recordBefore(Instruction in, StackState s) {
        before.put(in, s);
    }

    void recordEnd(List<Instruction> body, StackState s) {
        atEnd.put(body, s);
    }

    /** The stack just before {@code in} executes (for structured instructions: before its operands are popped). */
    public StackState before(Instruction in) {
        StackState s = before.get(in);
        if (s == null) {
            throw new IllegalArgumentException("instruction not part of the typed function: " + in);
        }
        return s;
    }

    /** The stack after the last instruction of {@code body} (a function, block, arm or try body list). */
    public StackState atEnd(List<Instruction> body) {
        StackState s = atEnd.get(body);
        if (s == null) {
            throw new IllegalArgumentException("body not part of the typed function");
        }
        return s;
    }
}
