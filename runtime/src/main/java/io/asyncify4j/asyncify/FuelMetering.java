package io.asyncify4j.asyncify;

import io.asyncify4j.wasm.ir.BlockInstruction;
import io.asyncify4j.wasm.ir.BlockType;
import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import io.asyncify4j.wasm.model.Function;
import io.asyncify4j.wasm.model.ModuleModel;
import java.util.ArrayList;
import java.util.BitSet;
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
 * (each instruction costs 1; a call of a leaf costs the leaf's instructions too). Small innermost
 * loops are unrolled and checked on their back edge instead (see {@link #unrollLoops}). Every path
 * between two checks is covered, so a guest cannot run unmetered: loops closed by
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
    /** Functions without an entry check, and the cost of one run outside loops, charged at call sites. */
    private final Map<Integer, Long> callSiteCosts = new java.util.HashMap<>();
    /** Unrolled loops: checked at their back edge, their first round charged by the enclosing check. */
    private final java.util.Set<Instruction> unrolledLoops =
            java.util.Collections.newSetFromMap(new IdentityHashMap<>());

    private FuelMetering(int fuelGlobal, int exhausted) {
        this.fuelGlobal = fuelGlobal;
        this.exhausted = exhausted;
    }

    /** Largest cost of one run of a function (outside its loops) that its call sites are charged. */
    static final long MAX_CALL_SITE_COST = 10_000;

    /**
     * Places check markers in the defined functions of {@code m}: at loop headers (or back edges), and
     * at the entry of the functions that a run can enter again and again without passing a loop
     * header: those on a cycle of direct calls, the ones reachable indirectly or from the host
     * (address-taken, exported, the start function). Any other function runs once per call site, so
     * its call sites are charged for its code outside loops instead, as for leaves (no calls, no
     * loops), which then need no instrumentation at all.
     */
    static FuelMetering apply(ModuleModel m, int fuelGlobal, int exhaustedImport) {
        FuelMetering meter = new FuelMetering(fuelGlobal, exhaustedImport);
        CallGraph graph = new CallGraph(m);
        BitSet reentrant = graph.onCycles();
        reentrant.or(StateAnalysis.referencedFunctions(m));
        for (io.asyncify4j.wasm.model.Export e : m.exports()) {
            if (e.kind() == io.asyncify4j.wasm.model.ExternalKind.FUNCTION) {
                reentrant.set(e.index());
            }
        }
        if (m.startFunction() >= 0) {
            reentrant.set(m.startFunction());
        }
        // Callees first, so a call site's charge is known when its caller is metered.
        for (int f : graph.calleesFirst()) {
            List<Instruction> body = m.definedFunction(f).body();
            boolean leaf = isLeaf(body);
            meter.unrollLoops(body);
            meter.meterLoops(body);
            long cost = meter.costOutsideLoops(body);
            if (leaf || (!reentrant.get(f) && cost <= MAX_CALL_SITE_COST)) {
                meter.callSiteCosts.put(f, cost);
            } else {
                body.add(0, meter.marker(cost));
            }
        }
        return meter;
    }

    /** Copies of a small loop body per check (see {@link #unrollLoops}). */
    static final int UNROLL = 4;
    /** Largest loop body (in instructions, nested ones included) that is unrolled. */
    static final int MAX_UNROLLED_BODY = 64;

    /**
     * Unrolls small innermost loops of the common shape {@code loop ... br_if 0 end} (no params or
     * results, no other branch to the loop) {@link #UNROLL} times, so their check runs once per
     * {@code UNROLL} iterations: a check costs about as much as a tight loop's body.
     * <pre>
     * block $exit
     *   loop $l
     *     body; br_if $exit (not cond)     ;; UNROLL times
     *     (check: the next round's cost)
     *     br $l
     *   end
     * end
     * </pre>
     * The check sits on the back edge and charges the next round; the first round is charged by the
     * enclosing check (function entry or outer loop header), so a loop that ends within its first
     * round, as most short inner loops do, runs no check at all. A loop that exits early has paid for
     * the iterations it did not run: charges stay static (so deterministic), and at most
     * {@code UNROLL - 1} iterations' worth too high.
     */
    void unrollLoops(List<Instruction> body) {
        ListIterator<Instruction> it = body.listIterator();
        while (it.hasNext()) {
            Instruction in = it.next();
            if (!(in instanceof StructuredInstruction st)) {
                continue;
            }
            if (unrollable(st)) {
                it.set(unrolled(st));
                continue;
            }
            unrollLoops(st.body());
            if (st instanceof IfInstruction i) {
                unrollLoops(i.elseBody());
            }
        }
    }

    private static boolean unrollable(StructuredInstruction st) {
        List<Instruction> body = st.body();
        if (st.opcode() != Opcode.LOOP || !st.blockType().isEmpty() || body.size() < 2) {
            return false;
        }
        Instruction last = body.get(body.size() - 1);
        if (last.opcode() != Opcode.BR_IF || ((SimpleInstruction) last).index() != 0) {
            return false;
        }
        int[] size = {0};
        boolean[] ok = {true};
        checkBranches(body.subList(0, body.size() - 1), 0, size, ok);
        return ok[0] && size[0] <= MAX_UNROLLED_BODY;
    }

    /** Counts instructions; clears ok on a nested loop, exotic control flow, or another branch to the loop. */
    private static void checkBranches(List<Instruction> body, int depth, int[] size, boolean[] ok) {
        for (Instruction in : body) {
            size[0]++;
            if (in instanceof SimpleInstruction s) {
                switch (s.opcode()) {
                    case BR: case BR_IF:
                        if (s.index() == depth) {
                            ok[0] = false;
                        }
                        break;
                    case BR_TABLE:
                        for (long l : s.immediates()) {
                            if (l == depth) {
                                ok[0] = false;
                            }
                        }
                        break;
                    case BR_ON_NULL: case BR_ON_NON_NULL: case BR_ON_CAST: case BR_ON_CAST_FAIL:
                        ok[0] = false;
                        break;
                    default:
                        break;
                }
            } else {
                StructuredInstruction st = (StructuredInstruction) in;
                if (st.opcode() != Opcode.BLOCK && st.opcode() != Opcode.IF) {
                    ok[0] = false; // a nested loop (its own check), try_table
                    return;
                }
                checkBranches(st.body(), depth + 1, size, ok);
                if (st instanceof IfInstruction i) {
                    checkBranches(i.elseBody(), depth + 1, size, ok);
                }
            }
        }
    }

    private BlockInstruction unrolled(StructuredInstruction loop) {
        List<Instruction> body = loop.body();
        List<Instruction> iteration = body.subList(0, body.size() - 1); // leaves the condition
        List<Instruction> out = new ArrayList<>();
        for (int copy = 0; copy < UNROLL; copy++) {
            // Inside the new $exit block, branches out of the loop reach one label further.
            out.addAll(shiftOuterLabels(iteration, 0));
            negateCondition(out);
            out.add(SimpleInstruction.of(Opcode.BR_IF, 1)); // to $exit
        }
        SimpleInstruction check = marker(0);
        out.add(check);
        out.add(SimpleInstruction.of(Opcode.BR, 0));
        costs.put(check, costOutsideLoops(out));
        BlockInstruction unrolled = new BlockInstruction(Opcode.LOOP, BlockType.EMPTY, out);
        unrolledLoops.add(unrolled);
        return BlockInstruction.block(BlockType.EMPTY, List.of(unrolled));
    }

    /**
     * A fresh copy of {@code body} (every instruction a new object: later passes key instructions by
     * identity, and each copy has its own stack types and call indices).
     */
    private static List<Instruction> shiftOuterLabels(List<Instruction> body, int depth) {
        List<Instruction> out = new ArrayList<>(body.size());
        for (Instruction in : body) {
            if (in instanceof SimpleInstruction s) {
                switch (s.opcode()) {
                    case BR: case BR_IF:
                        out.add(SimpleInstruction.of(s.opcode(), s.index() > depth ? s.index() + 1 : s.index()));
                        break;
                    case BR_TABLE: {
                        long[] labels = s.immediates();
                        for (int i = 0; i < labels.length; i++) {
                            if (labels[i] > depth) {
                                labels[i]++;
                            }
                        }
                        out.add(SimpleInstruction.of(Opcode.BR_TABLE, labels));
                        break;
                    }
                    default:
                        out.add(new SimpleInstruction(s.opcode(), s.immediates(), s.types()));
                        break;
                }
            } else if (in instanceof IfInstruction i) {
                out.add(new IfInstruction(i.blockType(), shiftOuterLabels(i.thenBody(), depth + 1),
                        shiftOuterLabels(i.elseBody(), depth + 1)));
            } else {
                StructuredInstruction st = (StructuredInstruction) in;
                out.add(new BlockInstruction(st.opcode(), st.blockType(), shiftOuterLabels(st.body(), depth + 1)));
            }
        }
        return out;
    }

    /** Replaces the i32 condition on top of the stack by its negation, flipping a comparison when it can. */
    private static void negateCondition(List<Instruction> out) {
        Instruction last = out.get(out.size() - 1);
        Opcode flipped = last instanceof SimpleInstruction ? flippedComparison(last.opcode()) : null;
        if (last.opcode() == Opcode.I32_EQZ) {
            out.remove(out.size() - 1); // br_if on x itself: x != 0 is not (x == 0)
        } else if (flipped != null) {
            out.set(out.size() - 1, SimpleInstruction.of(flipped));
        } else {
            out.add(SimpleInstruction.of(Opcode.I32_EQZ));
        }
    }

    /** The integer comparison that is true exactly when {@code op} is false (floats have NaN: none). */
    private static Opcode flippedComparison(Opcode op) {
        switch (op) {
            case I32_EQ: return Opcode.I32_NE;
            case I32_NE: return Opcode.I32_EQ;
            case I32_LT_S: return Opcode.I32_GE_S;
            case I32_GE_S: return Opcode.I32_LT_S;
            case I32_LT_U: return Opcode.I32_GE_U;
            case I32_GE_U: return Opcode.I32_LT_U;
            case I32_GT_S: return Opcode.I32_LE_S;
            case I32_LE_S: return Opcode.I32_GT_S;
            case I32_GT_U: return Opcode.I32_LE_U;
            case I32_LE_U: return Opcode.I32_GT_U;
            case I64_EQ: return Opcode.I64_NE;
            case I64_NE: return Opcode.I64_EQ;
            case I64_LT_S: return Opcode.I64_GE_S;
            case I64_GE_S: return Opcode.I64_LT_S;
            case I64_LT_U: return Opcode.I64_GE_U;
            case I64_GE_U: return Opcode.I64_LT_U;
            case I64_GT_S: return Opcode.I64_LE_S;
            case I64_LE_S: return Opcode.I64_GT_S;
            case I64_GT_U: return Opcode.I64_LE_U;
            case I64_LE_U: return Opcode.I64_GT_U;
            default: return null;
        }
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
            // The call in the plain check is no longer a marker (its charge is made right here).
            body.addAll(0, plainCheck(costs.remove(marker), marker));
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
            if (in.opcode() == Opcode.LOOP && !unrolledLoops.contains(in)) {
                StructuredInstruction loop = (StructuredInstruction) in;
                loop.body().add(0, marker(costOutsideLoops(loop.body())));
            }
        });
    }

    /**
     * An upper bound on the instructions one run of {@code body} executes outside nested loops: nested
     * blocks included, the dearer arm of an {@code if}, plus the cost of the functions it calls that have
     * no entry check and the first round of the unrolled loops it holds; at least 1.
     */
    long costOutsideLoops(List<Instruction> body) {
        long n = 1;
        for (Instruction in : body) {
            n++;
            if (in.opcode() == Opcode.CALL || in.opcode() == Opcode.RETURN_CALL) {
                n += callSiteCosts.getOrDefault(((SimpleInstruction) in).index(), 0L);
            }
            if (in instanceof StructuredInstruction st && (st.opcode() != Opcode.LOOP || unrolledLoops.contains(st))) {
                long inner = costOutsideLoops(st.body()) - 1;
                if (st instanceof IfInstruction i) {
                    inner = Math.max(inner, costOutsideLoops(i.elseBody()) - 1); // one arm runs
                }
                n += inner;
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
