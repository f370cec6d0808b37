package io.asyncify4j.asyncify;

import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import io.asyncify4j.wasm.model.Export;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.ModuleModel;
import java.util.BitSet;
import java.util.List;

/**
 * Finds the functions that run at most once per program run: the WASI entry {@code _start} and the
 * start function, and, from them down, every function whose only call site runs once (one direct call,
 * outside any loop, in a function that runs once; not exported, not address-taken). Giving such a
 * function a second, guard-free copy of its body would only add size: its loops are what runs hot, and
 * they get their own unguarded copy anyway.
 */
final class OneShotFunctions {
    private OneShotFunctions() {
    }

    static BitSet find(ModuleModel m, BitSet addressTaken) {
        int imported = m.importedFunctionCount();
        int total = m.functionCount();
        int[] callSites = new int[total];
        int[] soleCaller = new int[total];
        BitSet calledInLoop = new BitSet();
        for (int f = imported; f < total; f++) {
            int caller = f;
            walk(m.definedFunction(f).body(), false, (callee, inLoop) -> {
                callSites[callee]++;
                soleCaller[callee] = caller;
                if (inLoop) {
                    calledInLoop.set(callee);
                }
            });
        }
        BitSet exported = new BitSet();
        BitSet roots = new BitSet();
        for (Export e : m.exports()) {
            if (e.kind() == ExternalKind.FUNCTION) {
                if (e.name().equals("_start")) {
                    roots.set(e.index());
                } else {
                    exported.set(e.index());
                }
            }
        }
        if (m.startFunction() >= 0) {
            roots.set(m.startFunction());
        }
        BitSet once = new BitSet();
        for (int f = roots.nextSetBit(0); f >= 0; f = roots.nextSetBit(f + 1)) {
            if (f >= imported && !exported.get(f) && !addressTaken.get(f) && callSites[f] == 0) {
                once.set(f);
            }
        }
        // Down the call graph: a function called once from a one-shot function, outside loops.
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int f = imported; f < total; f++) {
                if (!once.get(f) && callSites[f] == 1 && !calledInLoop.get(f) && !exported.get(f)
                        && !addressTaken.get(f) && !roots.get(f) && once.get(soleCaller[f])) {
                    once.set(f);
                    changed = true;
                }
            }
        }
        return once;
    }

    private interface CallSink {
        void call(int callee, boolean inLoop);
    }

    private static void walk(List<Instruction> body, boolean inLoop, CallSink sink) {
        for (Instruction in : body) {
            if (in instanceof SimpleInstruction s) {
                if (s.opcode() == Opcode.CALL || s.opcode() == Opcode.RETURN_CALL) {
                    sink.call(s.index(), inLoop);
                }
            } else if (in instanceof StructuredInstruction st) {
                boolean loop = inLoop || st.opcode() == Opcode.LOOP;
                walk(st.body(), loop, sink);
                if (st instanceof io.asyncify4j.wasm.ir.IfInstruction i) {
                    walk(i.elseBody(), loop, sink);
                }
            }
        }
    }
}
