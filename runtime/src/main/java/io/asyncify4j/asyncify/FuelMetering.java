package io.asyncify4j.asyncify;

import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import io.asyncify4j.wasm.model.Function;
import io.asyncify4j.wasm.model.ModuleModel;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.ListIterator;
import java.util.Map;

import static io.asyncify4j.asyncify.Emit.globalGet;
import static io.asyncify4j.asyncify.Emit.globalSet;
import static io.asyncify4j.asyncify.Emit.op;

/**
 * Places fuel checks at every function entry and loop header, except in leaf functions (no calls, no
 * loops: they run a bounded number of instructions, charged to their callers). Each check charges the
 * static cost of the code that runs until the next check: at a function entry, the instructions of
 * the body outside loops; at a loop header, the instructions of the loop body outside nested loops
 * (each instruction costs 1; a call of a leaf costs the leaf's instructions too). Every path between two checks is covered, so a guest cannot run unmetered: loops closed by
 * {@code br_if} or {@code br_table}, recursion and tail calls all pass a check. Charges are static, so
 * the same module and input exhaust the same amount of fuel at the same points.
 *
 * <p>A check is first placed as a bare call of the exhausted import (a <em>marker</em>) with its cost
 * on the side: the instrumenter emits a cheap combined check for markers in instrumented functions
 * (one branch in the hot path, see FunctionInstrumenter), and {@link #expand} turns the others into the
 * plain check {@code fuel -= cost; if (fuel < 0) fuel_exhausted();}.
 */
final class FuelMetering {
    private final int fuelGlobal;
    private final int exhausted;
    private final Map<Instruction, Long> costs = new IdentityHashMap<>();
    /** Cost of each leaf function (no calls, no loops), charged at its call sites instead of its entry. */
    private final Map<Integer, Long> leafCosts = new java.util.HashMap<>();

    private FuelMetering(int fuelGlobal, int exhausted) {
        this.fuelGlobal = fuelGlobal;
        this.exhausted = exhausted;
    }

    /** Places check markers in every defined function of {@code m} but the leaves. */
    static FuelMetering apply(ModuleModel m, int fuelGlobal, int exhaustedImport) {
        FuelMetering meter = new FuelMetering(fuelGlobal, exhaustedImport);
        int imported = m.importedFunctionCount();
        // Leaves (no calls, no loops) run a bounded number of instructions: they need no check, and
        // their callers are charged for them, so they stay uninstrumented and cheap to call.
        for (int i = 0; i < m.functions().size(); i++) {
            List<Instruction> body = m.functions().get(i).body();
            if (isLeaf(body)) {
                meter.leafCosts.put(imported + i, meter.costOutsideLoops(body));
            }
        }
        for (int i = 0; i < m.functions().size(); i++) {
            if (meter.leafCosts.containsKey(imported + i)) {
                continue;
            }
            List<Instruction> body = m.functions().get(i).body();
            meter.meterLoops(body);
            body.add(0, meter.marker(meter.costOutsideLoops(body)));
        }
        return meter;
    }

    private static boolean isLeaf(List<Instruction> body) {
        boolean[] leaf = {true};
        InstructionWalker.forEach(body, in -> {
            switch (in.opcode()) {
                case LOOP: case CALL: case CALL_INDIRECT: case CALL_REF:
                case RETURN_CALL: case RETURN_CALL_INDIRECT: case RETURN_CALL_REF:
                    leaf[0] = false;
                    break;
                default:
                    break;
            }
        });
        return leaf[0];
    }

    int fuelGlobal() {
        return fuelGlobal;
    }

    /** The cost a marker charges, or -1 when {@code in} is not a marker. */
    long cost(Instruction in) {
        Long c = costs.get(in);
        return c == null ? -1 : c;
    }

    private SimpleInstruction marker(long cost) {
        SimpleInstruction call = SimpleInstruction.of(Opcode.CALL, exhausted);
        costs.put(call, cost);
        return call;
    }

    /** Fails unless every marker is still in the module (an index change would have replaced it). */
    void verifyPlaced(ModuleModel m) {
        java.util.Set<Instruction> found = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        for (Function f : m.functions()) {
            InstructionWalker.forEachSimple(f.body(), found::add);
        }
        for (Instruction marker : costs.keySet()) {
            if (!found.contains(marker)) {
                throw new AsyncifyException("fuel metering cannot be combined with the pure-wasm asyncify "
                        + "runtime imports (they renumber the fuel import)");
            }
        }
    }

    /** Replaces a marker starting {@code body} (not nested ones) by the plain check. */
    void expandFirst(List<Instruction> body) {
        if (!body.isEmpty() && costs.containsKey(body.get(0))) {
            Instruction marker = body.remove(0);
            body.addAll(0, plainCheck(costs.get(marker), marker));
        }
    }

    /** Replaces the markers in {@code body} (nested bodies included) by plain checks. */
    void expand(List<Instruction> body) {
        ListIterator<Instruction> it = body.listIterator();
        while (it.hasNext()) {
            Instruction in = it.next();
            if (in instanceof StructuredInstruction st) {
                expand(st.body());
                if (st instanceof IfInstruction i) {
                    expand(i.elseBody());
                }
            } else if (costs.containsKey(in)) {
                it.remove();
                for (Instruction c : plainCheck(costs.get(in), in)) {
                    it.add(c);
                }
            }
        }
    }

    private void meterLoops(List<Instruction> body) {
        InstructionWalker.forEach(body, in -> {
            if (in.opcode() == Opcode.LOOP) {
                StructuredInstruction loop = (StructuredInstruction) in;
                loop.body().add(0, marker(costOutsideLoops(loop.body())));
            }
        });
    }

    /**
     * Instructions of {@code body} (nested blocks included) not inside a nested loop, plus the cost of
     * the leaf functions it calls; at least 1.
     */
    long costOutsideLoops(List<Instruction> body) {
        long n = 1;
        for (Instruction in : body) {
            n++;
            if (in.opcode() == Opcode.CALL) {
                n += leafCosts.getOrDefault(((SimpleInstruction) in).index(), 0L);
            }
            if (in instanceof StructuredInstruction st && st.opcode() != Opcode.LOOP) {
                n += costOutsideLoops(st.body()) - 1;
                if (st instanceof IfInstruction i) {
                    n += costOutsideLoops(i.elseBody()) - 1;
                }
            }
        }
        return n;
    }

    /** {@code fuel -= cost}, then pushes {@code fuel < 0}. */
    List<Instruction> chargeAndTest(long cost) {
        List<Instruction> out = new ArrayList<>();
        out.add(globalGet(fuelGlobal));
        out.add(op(Opcode.I64_CONST, cost));
        out.add(op(Opcode.I64_SUB));
        out.add(globalSet(fuelGlobal));
        out.add(globalGet(fuelGlobal));
        out.add(op(Opcode.I64_CONST, 0));
        out.add(op(Opcode.I64_LT_S));
        return out;
    }

    /** {@code fuel -= cost; if (fuel < 0) fuel_exhausted();} with the marker as the call. */
    private List<Instruction> plainCheck(long cost, Instruction call) {
        List<Instruction> out = chargeAndTest(cost);
        out.add(Emit.ifThen(List.of(call)));
        return out;
    }
}
