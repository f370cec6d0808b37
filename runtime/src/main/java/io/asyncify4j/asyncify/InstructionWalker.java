package io.asyncify4j.asyncify;

import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import java.util.List;
import java.util.ListIterator;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/** Walks the nested bodies of structured code: the one traversal the transform's passes share. */
final class InstructionWalker {
    private InstructionWalker() {}

    /**
     * Calls {@code visitor} on {@code body} and then on every nested body (block, loop and try_table
     * bodies, both arms of ifs). The visitor may edit the list it is given; nested bodies are found
     * after it returns, so instructions it inserts are walked too.
     */
    static void forEachBody(List<Instruction> body, Consumer<List<Instruction>> visitor) {
        visitor.accept(body);
        for (Instruction in : body) {
            if (in instanceof StructuredInstruction st) {
                forEachBody(st.body(), visitor);
                if (st instanceof IfInstruction i) {
                    forEachBody(i.elseBody(), visitor);
                }
            }
        }
    }

    /** Visits every instruction, structured ones included, in program order. */
    static void forEach(List<Instruction> body, Consumer<Instruction> visitor) {
        for (Instruction in : body) {
            visitor.accept(in);
            if (in instanceof StructuredInstruction st) {
                forEach(st.body(), visitor);
                if (st instanceof IfInstruction i) {
                    forEach(i.elseBody(), visitor);
                }
            }
        }
    }

    /** Visits every simple instruction of a body, nested bodies included, in program order. */
    static void forEachSimple(List<Instruction> body, Consumer<SimpleInstruction> visitor) {
        forEach(body, in -> {
            if (in instanceof SimpleInstruction s) {
                visitor.accept(s);
            }
        });
    }

    /** Instructions in {@code body}, nested ones included. */
    static int count(List<Instruction> body) {
        int[] n = {0};
        forEach(body, in -> n[0]++);
        return n[0];
    }

    /** Replaces every simple instruction by what {@code rewrite} returns for it. */
    static void rewriteSimple(List<Instruction> body, UnaryOperator<SimpleInstruction> rewrite) {
        forEachBody(body, b -> {
            ListIterator<Instruction> it = b.listIterator();
            while (it.hasNext()) {
                if (it.next() instanceof SimpleInstruction s) {
                    it.set(rewrite.apply(s));
                }
            }
        });
    }
}
