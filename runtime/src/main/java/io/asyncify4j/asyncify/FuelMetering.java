package io.asyncify4j.asyncify;

import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import io.asyncify4j.wasm.model.Function;
import io.asyncify4j.wasm.model.ModuleModel;
import java.util.ArrayList;
import java.util.List;

import static io.asyncify4j.asyncify.Emit.globalGet;
import static io.asyncify4j.asyncify.Emit.globalSet;
import static io.asyncify4j.asyncify.Emit.op;

/**
 * Inserts fuel checks at every function entry and loop header. Each check charges the static cost of
 * the code that runs until the next check: at a function entry, the instructions of the body outside
 * loops; at a loop header, the instructions of the loop body outside nested loops (each instruction
 * costs 1). Every path between two checks is covered, so a guest cannot run unmetered: loops closed by
 * {@code br_if} or {@code br_table}, recursion and tail calls all pass a check. Charges are static, so
 * the same module and input exhaust the same amount of fuel at the same points.
 */
final class FuelMetering {
    private final int fuelGlobal;
    private final int exhausted;

    private FuelMetering(int fuelGlobal, int exhausted) {
        this.fuelGlobal = fuelGlobal;
        this.exhausted = exhausted;
    }

    /** Instruments every defined function of {@code m}. */
    static void apply(ModuleModel m, int fuelGlobal, int exhaustedImport) {
        FuelMetering meter = new FuelMetering(fuelGlobal, exhaustedImport);
        for (Function f : m.functions()) {
            meter.meterLoops(f.body());
            f.body().addAll(0, meter.check(costOutsideLoops(f.body())));
        }
    }

    private void meterLoops(List<Instruction> body) {
        for (Instruction in : body) {
            if (in instanceof StructuredInstruction st) {
                meterLoops(st.body());
                if (st instanceof IfInstruction i) {
                    meterLoops(i.elseBody());
                }
                if (st.opcode() == Opcode.LOOP) {
                    st.body().addAll(0, check(costOutsideLoops(st.body())));
                }
            }
        }
    }

    /** Instructions of {@code body} (nested blocks included) not inside a nested loop; at least 1. */
    static long costOutsideLoops(List<Instruction> body) {
        long n = 1;
        for (Instruction in : body) {
            n++;
            if (in instanceof StructuredInstruction st && st.opcode() != Opcode.LOOP) {
                n += costOutsideLoops(st.body()) - 1;
                if (st instanceof IfInstruction i) {
                    n += costOutsideLoops(i.elseBody()) - 1;
                }
            }
        }
        return n;
    }

    /** {@code fuel -= cost; if (fuel < 0) fuel_exhausted();} */
    private List<Instruction> check(long cost) {
        List<Instruction> out = new ArrayList<>();
        out.add(globalGet(fuelGlobal));
        out.add(op(Opcode.I64_CONST, cost));
        out.add(op(Opcode.I64_SUB));
        out.add(globalSet(fuelGlobal));
        out.add(globalGet(fuelGlobal));
        out.add(op(Opcode.I64_CONST, 0));
        out.add(op(Opcode.I64_LT_S));
        out.add(Emit.ifThen(List.of(SimpleInstruction.of(Opcode.CALL, exhausted))));
        return out;
    }
}
