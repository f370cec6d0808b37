package io.asyncify4j.benchmarks;

import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import io.asyncify4j.wasm.model.Export;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.Function;
import io.asyncify4j.wasm.model.ModuleModel;
import java.util.List;
import java.util.ListIterator;

/**
 * A large module for timing the transform: a module whose defined functions are duplicated until the
 * code section reaches a size. Copy {@code c} of function {@code f} calls copy {@code c} of whatever
 * {@code f} calls (imports stay shared; indirect calls and {@code ref.func} keep pointing at the
 * originals), so every copy of a function that reaches an unwinding import is instrumented again; each
 * copy's exports are exported too (suffixed {@code $copyN}), so no copy is dead code.
 */
public final class LargeModule {
    private LargeModule() {}

    /** The module and how it was made. */
    public record Generated(byte[] wasm, int copies, int functions, long codeBytes) {}

    /** Duplicates the defined functions of {@code wasm} until the code section holds at least {@code targetCodeBytes}. */
    public static Generated generate(byte[] wasm, long targetCodeBytes) {
        long baseCode = Math.max(1, WasmSizes.codeSectionSize(wasm));
        int copies = (int) Math.max(1, (targetCodeBytes + baseCode - 1) / baseCode);
        ModuleModel m = WasmCodec.decode(wasm);
        int imported = m.importedFunctionCount();
        int defined = m.functions().size();
        for (int c = 1; c < copies; c++) {
            // A fresh decode gives fresh instruction trees to renumber.
            ModuleModel fresh = WasmCodec.decode(wasm);
            int shift = c * defined;
            for (Function f : fresh.functions()) {
                shiftCalls(f.body(), imported, shift);
                m.functions().add(f);
            }
            // Export each copy's exported functions too, so that no copy is dead code to an optimizer.
            for (Export e : fresh.exports()) {
                if (e.kind() == ExternalKind.FUNCTION && e.index() >= imported) {
                    m.exports().add(new Export(e.name() + "$copy" + c, ExternalKind.FUNCTION, e.index() + shift));
                }
            }
        }
        byte[] out = WasmCodec.encode(m);
        return new Generated(out, copies, m.functionCount(), WasmSizes.codeSectionSize(out));
    }

    private static void shiftCalls(List<Instruction> body, int imported, int shift) {
        ListIterator<Instruction> it = body.listIterator();
        while (it.hasNext()) {
            Instruction in = it.next();
            if (in instanceof StructuredInstruction st) {
                shiftCalls(st.body(), imported, shift);
                if (st instanceof IfInstruction i) {
                    shiftCalls(i.elseBody(), imported, shift);
                }
            } else {
                SimpleInstruction s = (SimpleInstruction) in;
                if ((s.opcode() == Opcode.CALL || s.opcode() == Opcode.RETURN_CALL) && s.index() >= imported) {
                    it.set(new SimpleInstruction(s.opcode(), new long[] {s.index() + shift}, s.types()));
                }
            }
        }
    }
}
