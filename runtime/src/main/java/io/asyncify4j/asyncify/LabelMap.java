package io.asyncify4j.asyncify;

import io.asyncify4j.wasm.ir.BlockInstruction;
import io.asyncify4j.wasm.ir.Catch;
import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import io.asyncify4j.wasm.ir.TryTableInstruction;
import java.util.ArrayList;
import java.util.List;

/**
 * Tracks where each label of the original function sits in the rewritten one, so that original
 * branches keep their targets when the transform wraps code in new blocks and ifs.
 *
 * <p>Depths are absolute: label 0 is the function's own label. {@link #depth()} is the number of labels
 * in scope at the point code is being emitted.
 */
final class LabelMap {
    /** For each original label in scope (outermost first), its absolute depth in the new code. */
    private final List<Integer> originalToNew = new ArrayList<>();
    private int depth;

    LabelMap() {
        originalToNew.add(0); // the function label stays the function label
        depth = 1;
    }

    int depth() {
        return depth;
    }

    /** Enter a label the transform adds (no original label corresponds to it). */
    void enterSynthetic() {
        depth++;
    }

    void exitSynthetic() {
        depth--;
    }

    /** Enter the new code's version of an original structured instruction. */
    void enterOriginal() {
        originalToNew.add(depth);
        depth++;
    }

    void exitOriginal() {
        originalToNew.remove(originalToNew.size() - 1);
        depth--;
    }

    /** New relative depth for original relative depth {@code label}, at the current point. */
    long map(long label) {
        int frame = originalToNew.size() - 1 - (int) label;
        return depth - 1 - originalToNew.get(frame);
    }

    /** Relative depth of the synthetic label at absolute depth {@code absolute}. */
    long toAbsolute(int absolute) {
        return depth - 1 - absolute;
    }

    /** Copies original code to the current point, remapping every branch target. */
    List<Instruction> copy(List<Instruction> body) {
        List<Instruction> out = new ArrayList<>(body.size());
        for (Instruction in : body) {
            out.add(copy(in));
        }
        return out;
    }

    Instruction copy(Instruction in) {
        if (in instanceof SimpleInstruction s) {
            return remapBranch(s);
        }
        StructuredInstruction st = (StructuredInstruction) in;
        List<Catch> catches = st instanceof TryTableInstruction t ? remapCatches(t.catches()) : null;
        enterOriginal();
        List<Instruction> body = copy(st.body());
        List<Instruction> elseBody = st instanceof IfInstruction i ? copy(i.elseBody()) : null;
        exitOriginal();
        if (st instanceof BlockInstruction) {
            return new BlockInstruction(st.opcode(), st.blockType(), body);
        }
        if (st instanceof IfInstruction) {
            return new IfInstruction(st.blockType(), body, elseBody);
        }
        return new TryTableInstruction(st.blockType(), catches, body);
    }

    /** Catch labels are resolved outside the try_table itself: call before entering it. */
    List<Catch> remapCatches(List<Catch> catches) {
        List<Catch> out = new ArrayList<>();
        for (Catch c : catches) {
            out.add(new Catch(c.kind(), c.tag(), (int) map(c.label())));
        }
        return out;
    }

    SimpleInstruction remapBranch(SimpleInstruction s) {
        switch (s.opcode()) {
            case BR: case BR_IF: case BR_ON_NULL: case BR_ON_NON_NULL:
                return SimpleInstruction.of(s.opcode(), map(s.immediate(0)));
            case BR_TABLE: {
                long[] labels = s.immediates();
                for (int i = 0; i < labels.length; i++) {
                    labels[i] = map(labels[i]);
                }
                return SimpleInstruction.of(s.opcode(), labels);
            }
            case BR_ON_CAST: case BR_ON_CAST_FAIL: {
                long[] imm = s.immediates();
                imm[1] = map(imm[1]);
                return SimpleInstruction.of(s.opcode(), imm);
            }
            default:
                return s;
        }
    }
}
