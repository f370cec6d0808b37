package io.asyncify4j.asyncify;

import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import java.util.List;
import java.util.function.Consumer;

/** Visits every simple instruction of a body, nested bodies included, in program order. */
final class InstructionWalker {
    private InstructionWalker() {}

    static void forEachSimple(List<Instruction> body, Consumer<SimpleInstruction> visitor) {
        for (Instruction in : body) {
            if (in instanceof SimpleInstruction s) {
                visitor.accept(s);
            } else {
                StructuredInstruction st = (StructuredInstruction) in;
                forEachSimple(st.body(), visitor);
                if (st instanceof IfInstruction i) {
                    forEachSimple(i.elseBody(), visitor);
                }
            }
        }
    }
}
