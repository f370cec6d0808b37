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
import io.asyncify4j.wasm.model.ValType;
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
 * Places fuel checks at function entries and loop headers, except in leaf functions (no calls, no
 * loops: they run a bounded number of instructions, charged to their callers). Each check charges the
 * static cost of the code that runs until the next check: at a function entry, the instructions of
 * the body outside loops; at a loop header, the instructions of the loop body outside nested loops
 * (each instruction costs 1; a call of a function without an entry check costs that function's
 * instructions too). Loops of the common {@code loop ... br_if 0} shape are unrolled and checked on
 * their back edge instead (see {@link #unrollLoops}); code that a branch may skip is charged where it
 * starts (see {@link #placeCharges}). Every path between two checks is covered, so a guest cannot run
 * unmetered: loops closed by {@code br_if} or {@code br_table}, recursion and tail calls all pass a
 * check. Charges are static, so the same module and input exhaust the same amount of fuel at the same
 * points, and never below the instructions run.
 *
 * <p>A check is first placed as a bare call of the exhausted import (a <em>marker</em>) with its cost
 * on the side: the instrumenter emits a cheap combined check for markers in instrumented functions
 * (one branch in the hot path, see FunctionInstrumenter), and {@link #expand} turns the others into the
 * plain check {@code fuel -= cost; if (fuel < 0) fuel_exhausted();}, or on an unrolled loop's back edge
 * {@code fuel -= cost; br_if $loop (fuel >= 0); fuel_exhausted(); br $loop}.
 */
final class FuelMetering {
    private final int fuelGlobal;
    private final int exhausted;
    private final Map<Instruction, Long> costs = new IdentityHashMap<>();
    /** Functions without an entry check, and the cost of one run outside loops, charged at call sites. */
    private final Map<Integer, Long> callSiteCosts = new java.util.HashMap<>();
    /**
     * Unrolled loops (checked at their back edge, their first round charged by the enclosing check),
     * with the size of one iteration of the original loop.
     */
    private final Map<Instruction, Integer> unrolledLoops = new IdentityHashMap<>();
    /**
     * Markers on the back edge of an unrolled loop, each followed by the {@code br} to its loop: they
     * expand to a check whose fast path is a {@code br_if} to the loop (see {@link #expand}).
     */
    private final java.util.Set<Instruction> backEdges = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    /** First instructions of bare charges (see {@link #placeCharges}): costs before them stop there. */
    private final java.util.Set<Instruction> chargeStarts =
            java.util.Collections.newSetFromMap(new IdentityHashMap<>());

    private final ModuleModel m;

    private FuelMetering(ModuleModel m, int fuelGlobal, int exhausted) {
        this.m = m;
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
     * loops), which then need no instrumentation at all. {@code unroll}: whether loops of the common
     * shape are unrolled (see {@link #unrollLoops}); not for an engine compiling functions to JVM
     * methods, where the copies would grow methods past what HotSpot compiles
     * ({@link AsyncifyOptions.Target#COMPILER}).
     */
    static FuelMetering apply(ModuleModel m, int fuelGlobal, int exhaustedImport, boolean unroll) {
        FuelMetering meter = new FuelMetering(m, fuelGlobal, exhaustedImport);
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
        long moduleUnrollBudget = UNROLL_BUDGET_MODULE_BASE;
        for (io.asyncify4j.wasm.model.Function f : m.functions()) {
            moduleUnrollBudget += (long) UNROLL_BUDGET_PER_INSTRUCTION * InstructionWalker.count(f.body());
        }
        // Callees first, so a call site's charge is known when its caller is metered.
        for (int f : graph.calleesFirst()) {
            List<Instruction> body = m.definedFunction(f).body();
            boolean leaf = isLeaf(body); // bulk charges (below) call the import, yet the code stays bounded
            meter.chargeBulk(f);
            long own = UNROLL_BUDGET_PER_INSTRUCTION * (long) InstructionWalker.count(body) + UNROLL_BUDGET_BASE;
            meter.unrollBudget = Math.min(own, moduleUnrollBudget);
            if (unroll) {
                meter.unrollLoops(body, false);
            }
            moduleUnrollBudget -= Math.min(own, moduleUnrollBudget) - meter.unrollBudget;
            meter.placeCharges(body);
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

    /** A bulk memory instruction is charged one unit per {@code 1 << BYTES_PER_UNIT_LOG2} bytes. */
    static final int BYTES_PER_UNIT_LOG2 = 4;
    /** Largest number of units one bulk instruction is charged (keeps i64 arithmetic from wrapping). */
    static final long MAX_BULK_UNITS = 1L << 62;

    /** How a bulk instruction's length (the operand on top of the stack) turns into fuel units. */
    private enum Bulk { BYTES, ELEMENTS, MEMORY_PAGES, TABLE_GROWTH }

    private static Bulk bulkKind(Opcode op) {
        switch (op) {
            case MEMORY_FILL: case MEMORY_COPY: case MEMORY_INIT:
                return Bulk.BYTES;
            case TABLE_FILL: case TABLE_COPY: case TABLE_INIT:
            case ARRAY_NEW: case ARRAY_NEW_DEFAULT: case ARRAY_NEW_DATA: case ARRAY_NEW_ELEM:
            case ARRAY_FILL: case ARRAY_COPY: case ARRAY_INIT_DATA: case ARRAY_INIT_ELEM:
                return Bulk.ELEMENTS;
            case MEMORY_GROW:
                return Bulk.MEMORY_PAGES;
            case TABLE_GROW:
                return Bulk.TABLE_GROWTH;
            default:
                return null;
        }
    }

    /**
     * Charges every instruction whose work grows with an operand by that operand, at run time and
     * before it runs (the static charges count each instruction once, whatever its length):
     * <pre>
     * local.tee $len                      ;; the length stays on the stack, under the check
     * fuel -= units($len)
     * if (fuel &lt; 0) fuel_exhausted()      ;; may unwind: preempted or stopped before the work
     * memory.fill                          ;; (or any other bulk instruction)
     * </pre>
     * Units: memory bytes (fill, copy, init) {@code len >>> BYTES_PER_UNIT_LOG2}; table and array
     * elements one each; {@code memory.grow} 64 KiB of bytes per page, and {@code table.grow} the new
     * table size (the engine copies the whole table), both only when the growth can succeed (a failing
     * grow does no work). The instruction's own unit and the check's instructions are in the static
     * charge, which covers the rounding down. Lengths are u32 or u64 (memory64, table64): units are
     * computed in i64 and capped at {@link #MAX_BULK_UNITS}, so the charge never wraps.
     *
     * <p>The exhaustion call sits between the operands and the instruction, so the instrumenter keeps
     * the operands in the frame; a rewind re-enters only that call (the charge before it runs in normal
     * state only), then the instruction runs once, with its operands. Checks go in reachable code only.
     */
    void chargeBulk(int funcIndex) {
        Function fn = m.definedFunction(funcIndex);
        boolean[] any = {false};
        InstructionWalker.forEachSimple(fn.body(), s -> any[0] |= bulkKind(s.opcode()) != null);
        if (!any[0]) {
            return;
        }
        io.asyncify4j.wasm.typing.FunctionTyping typing = io.asyncify4j.wasm.typing.StackTyper.type(m, funcIndex);
        int params = m.funcType(fn.typeIndex()).params().size();
        Map<ValType, Integer> scratch = new java.util.HashMap<>();
        InstructionWalker.forEachBody(fn.body(), b -> {
            ListIterator<Instruction> it = b.listIterator();
            while (it.hasNext()) {
                Instruction in = it.next();
                Bulk kind = in instanceof SimpleInstruction ? bulkKind(in.opcode()) : null;
                if (kind == null) {
                    continue;
                }
                io.asyncify4j.wasm.typing.StackState before = typing.before(in);
                if (before.unreachable() || before.height() == 0) {
                    continue; // never runs
                }
                ValType lengthType = before.fromTop(0);
                int len = scratch.computeIfAbsent(lengthType, t -> fn.addLocal(params, t));
                it.previous();
                for (Instruction c : bulkCheck((SimpleInstruction) in, kind, lengthType, len)) {
                    it.add(c);
                }
                it.next();
            }
        });
    }

    private List<Instruction> bulkCheck(SimpleInstruction in, Bulk kind, ValType lengthType, int len) {
        boolean wide = lengthType.equals(ValType.I64);
        List<Instruction> out = new ArrayList<>();
        out.add(Emit.localTee(len));
        out.add(globalGet(fuelGlobal));
        switch (kind) {
            case BYTES:
                pushLength(out, len, wide);
                out.add(op(Opcode.I64_CONST, BYTES_PER_UNIT_LOG2));
                out.add(op(Opcode.I64_SHR_U)); // at most 2^60
                break;
            case ELEMENTS:
                pushCappedLength(out, len, wide);
                break;
            case MEMORY_PAGES: {
                int mem = in.index();
                io.asyncify4j.wasm.model.Limits l = m.memoryType(mem).limits();
                long maxPages = l.hasMax() ? l.max() : l.address64() ? 1L << 48 : 1L << 16;
                pushLength(out, len, wide);
                out.add(op(Opcode.I64_CONST, 16 - BYTES_PER_UNIT_LOG2));
                out.add(op(Opcode.I64_SHL)); // only used when the delta fits the limit: at most 2^60
                out.add(op(Opcode.I64_CONST, 0));
                pushLength(out, len, wide);
                out.add(op(Opcode.I64_CONST, maxPages));
                out.add(op(Opcode.MEMORY_SIZE, mem));
                if (!l.address64()) {
                    out.add(op(Opcode.I64_EXTEND_I32_U));
                }
                out.add(op(Opcode.I64_SUB));
                out.add(op(Opcode.I64_LE_U)); // delta <= max - size: the grow can succeed
                out.add(op(Opcode.SELECT));
                break;
            }
            case TABLE_GROWTH: {
                int table = in.index();
                io.asyncify4j.wasm.model.Limits l = m.tableType(table).limits();
                long maxSize = l.hasMax() ? l.max() : l.address64() ? -1L : 0xFFFF_FFFFL; // unsigned
                out.add(op(Opcode.TABLE_SIZE, table));
                if (!l.address64()) {
                    out.add(op(Opcode.I64_EXTEND_I32_U));
                }
                pushCappedLength(out, len, wide);
                out.add(op(Opcode.I64_ADD)); // the new size: the engine copies the table into it
                out.add(op(Opcode.I64_CONST, 0));
                pushLength(out, len, wide);
                out.add(op(Opcode.I64_CONST, maxSize));
                out.add(op(Opcode.TABLE_SIZE, table));
                if (!l.address64()) {
                    out.add(op(Opcode.I64_EXTEND_I32_U));
                }
                out.add(op(Opcode.I64_SUB));
                out.add(op(Opcode.I64_LE_U));
                out.add(op(Opcode.SELECT));
                break;
            }
            default:
                throw new IllegalStateException(kind.toString());
        }
        out.add(op(Opcode.I64_SUB));
        out.add(globalSet(fuelGlobal));
        out.add(globalGet(fuelGlobal));
        out.add(op(Opcode.I64_CONST, 0));
        out.add(op(Opcode.I64_LT_S));
        List<Instruction> call = new ArrayList<>();
        call.add(SimpleInstruction.of(Opcode.CALL, exhausted)); // a plain call, not a marker
        out.add(new IfInstruction(BlockType.EMPTY, call, new ArrayList<>()));
        return out;
    }

    /** Pushes the length as an unsigned i64. */
    private static void pushLength(List<Instruction> out, int len, boolean wide) {
        out.add(Emit.localGet(len));
        if (!wide) {
            out.add(op(Opcode.I64_EXTEND_I32_U));
        }
    }

    /** Pushes the length as an i64, at most {@link #MAX_BULK_UNITS} (a u32 always is). */
    private static void pushCappedLength(List<Instruction> out, int len, boolean wide) {
        pushLength(out, len, wide);
        if (wide) {
            out.add(op(Opcode.I64_CONST, MAX_BULK_UNITS));
            out.add(Emit.localGet(len));
            out.add(op(Opcode.I64_CONST, MAX_BULK_UNITS));
            out.add(op(Opcode.I64_LT_U));
            out.add(op(Opcode.SELECT)); // min(len, cap), unsigned
        }
    }

    /** Instructions an unrolled round aims at: a check then costs a few percent of the work it meters. */
    static final int TARGET_ROUND = 256;
    /** Most copies of a loop body per round (small bodies; bounds the charge for a loop that runs once). */
    static final int MAX_FACTOR = 8;
    /**
     * Code unrolling may add to a function: {@link #UNROLL_BUDGET_BASE} plus this many instructions per
     * instruction of the function (inner loops, unrolled first, spend it first), and to the whole module
     * {@link #UNROLL_BUDGET_MODULE_BASE} plus as many per instruction of the module: tiny nested loops
     * grow a function by a bounded factor, not by {@link #MAX_ROUND_CODE} per loop nest, and many tiny
     * functions do not each add a base's worth.
     */
    static final int UNROLL_BUDGET_PER_INSTRUCTION = 3;
    static final int UNROLL_BUDGET_BASE = 1024;
    static final int UNROLL_BUDGET_MODULE_BASE = 65_536;
    private long unrollBudget = Long.MAX_VALUE;

    /** Largest unrolled round, nested unrolled rounds included (bounds code growth for nested loops). */
    static final int MAX_ROUND_CODE = 1024;

    /**
     * Copies of a loop body of {@code size} instructions per unrolled round: enough to make a round of
     * about {@link #TARGET_ROUND} instructions, at most {@link #MAX_FACTOR}; 1 (not unrolled) for bodies
     * of more than half a round.
     */
    static int unrollFactor(int size) {
        return Math.max(1, Math.min(MAX_FACTOR, (TARGET_ROUND + size - 1) / Math.max(1, size)));
    }

    /**
     * Unrolls loops of the common shape {@code loop ... br_if 0 end} (no params or results, no other
     * branch to the loop, no nested loop other than an unrolled one) so that their check runs once per
     * round of {@link #unrollFactor} iterations: a check costs about as much as a tight loop's body.
     * Inner loops are unrolled first, so a loop around an unrolled one can be unrolled in turn. When
     * the condition ends with a comparison (flipped for free) or an {@code i32.eqz} (dropped), each copy
     * leaves through a negated {@code br_if}:
     * <pre>
     * block $exit
     *   loop $l
     *     body; br_if $exit (not cond)     ;; once per copy
     *     (check: the next round's cost; with fuel left, br_if $l)
     *     br $l
     *   end
     * end
     * </pre>
     * Otherwise (a bare counter, {@code local.tee $n (n - 1)}: negating it would cost an
     * {@code i32.eqz} per iteration) the copies nest in ifs, each copy's condition entering the next,
     * and the loop is left through an else arm, once per run:
     * <pre>
     * block $exit
     *   loop $l
     *     body; cond
     *     if
     *       body; cond
     *       if ... (check; br $l) ... else br $exit end
     *     else br $exit end
     *   end
     * end
     * </pre>
     * Per iteration both cost what the original loop does (one branch on the condition); the
     * {@code $exit} block is left out when the loop ends a block or if without results, whose label is
     * the exit then. The check sits on the back edge and charges the next round; its fast path is a
     * {@code br_if} to the loop (see {@link #expand} and FunctionInstrumenter), so a round costs 8
     * instructions more than its copies. The first round is charged by the
     * enclosing check (function entry or outer loop header), so a loop that ends within its first
     * round, as most short inner loops do, runs no check at all. A loop that exits early has paid for
     * the iterations it did not run: charges stay static (so deterministic), and at most one round
     * (about {@link #TARGET_ROUND} instructions) too high per run of the loop.
     */
    void unrollLoops(List<Instruction> body, boolean endExitsLabel) {
        ListIterator<Instruction> it = body.listIterator();
        while (it.hasNext()) {
            Instruction in = it.next();
            if (!(in instanceof StructuredInstruction st)) {
                continue;
            }
            // A br to a block or if label without results goes where falling off its end goes.
            boolean exits = st.opcode() != Opcode.LOOP && st.opcode() != Opcode.TRY_TABLE
                    && noResults(st.blockType());
            unrollLoops(st.body(), exits);
            if (st instanceof IfInstruction i) {
                unrollLoops(i.elseBody(), exits);
            }
            int[] plan = unrollPlan(st);
            if (plan != null) {
                // A loop ending a block leaves through that block's label: no block of its own to enter.
                it.set(unrolled(st, plan[0], plan[1], endExitsLabel && !it.hasNext()));
            }
        }
    }

    private boolean noResults(BlockType type) {
        return type.hasTypeIndex() ? m.funcType(type.typeIndex()).results().isEmpty() : type.result() == null;
    }

    /**
     * {unroll factor, size of one iteration (its closing br_if included)} for a loop of the shape
     * {@link #unrollLoops} takes and worth unrolling; null otherwise.
     */
    private int[] unrollPlan(StructuredInstruction st) {
        List<Instruction> body = st.body();
        if (st.opcode() != Opcode.LOOP || !st.blockType().isEmpty() || body.size() < 2) {
            return null;
        }
        Instruction last = body.get(body.size() - 1);
        if (last.opcode() != Opcode.BR_IF || ((SimpleInstruction) last).index() != 0) {
            return null;
        }
        int[] size = {0, 0};
        boolean[] ok = {true};
        checkBranches(body.subList(0, body.size() - 1), 0, size, ok);
        if (!ok[0]) {
            return null;
        }
        // A nested unrolled loop counts one iteration towards the round (it usually ends in its first
        // round, so its rounds say little of what one iteration here runs), all of its code towards growth.
        int factor = unrollFactor(size[0]);
        while (factor > 1 && ((long) factor * size[1] > MAX_ROUND_CODE
                || (long) (factor - 1) * size[1] > unrollBudget)) {
            factor--;
        }
        if (factor > 1) {
            unrollBudget -= (long) (factor - 1) * size[1];
        }
        return factor > 1 ? new int[] {factor, size[0] + 1} : null;
    }

    /**
     * Counts instructions: {@code size[0]} for one iteration (nested unrolled loops as one iteration of
     * theirs), {@code size[1]} all of them; clears ok on a nested loop (unless unrolled), exotic control
     * flow, or another branch to the loop.
     */
    private void checkBranches(List<Instruction> body, int depth, int[] size, boolean[] ok) {
        for (Instruction in : body) {
            size[0]++;
            size[1]++;
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
                Integer iteration = st.opcode() == Opcode.LOOP ? unrolledLoops.get(st) : null;
                if (st.opcode() != Opcode.BLOCK && st.opcode() != Opcode.IF && iteration == null) {
                    ok[0] = false; // a nested loop with a check at its header, try_table
                    return;
                }
                if (iteration != null) {
                    int[] inner = {0, 0};
                    checkBranches(st.body(), depth + 1, inner, ok);
                    size[0] += iteration;
                    size[1] += inner[1];
                    continue;
                }
                checkBranches(st.body(), depth + 1, size, ok);
                if (st instanceof IfInstruction i) {
                    checkBranches(i.elseBody(), depth + 1, size, ok);
                }
            }
        }
    }

    private StructuredInstruction unrolled(StructuredInstruction loop, int factor, int iterationSize,
            boolean exitThroughEnclosing) {
        List<Instruction> body = loop.body();
        List<Instruction> iteration = body.subList(0, body.size() - 1); // leaves the condition
        boolean nested = !negatesFreely(iteration);
        int exitShift = exitThroughEnclosing ? 0 : 1;
        SimpleInstruction check = marker(0);
        backEdges.add(check);
        List<Instruction> out = new ArrayList<>();
        if (nested) {
            // Built from the inside out (an if keeps its own copy of the arm it is given). The copy
            // inside `copy` ifs has its branches out of the loop reach that many labels further; the
            // else arm of the if after it leaves through $exit (or the enclosing label), past the loop
            // and those ifs.
            out.add(check);
            out.add(SimpleInstruction.of(Opcode.BR, factor));
            for (int copy = factor - 1; copy >= 0; copy--) {
                List<Instruction> outer = copyShiftingOuterLabels(iteration, 0, copy + exitShift);
                List<Instruction> exit = new ArrayList<>();
                exit.add(SimpleInstruction.of(Opcode.BR, copy + 2));
                outer.add(new IfInstruction(BlockType.EMPTY, out, exit));
                out = outer;
            }
        } else {
            for (int copy = 0; copy < factor; copy++) {
                // Inside a new $exit block, branches out of the loop reach one label further.
                out.addAll(copyShiftingOuterLabels(iteration, 0, exitShift));
                negateCondition(out);
                out.add(SimpleInstruction.of(Opcode.BR_IF, 1)); // to $exit, or past the enclosing block's end
            }
            out.add(check);
            out.add(SimpleInstruction.of(Opcode.BR, 0));
        }
        // The original body is dropped: its checks (of nested unrolled loops) live on in the copies.
        InstructionWalker.forEach(iteration, in -> {
            costs.remove(in);
            backEdges.remove(in);
            unrolledLoops.remove(in);
        });
        costs.put(check, costOutsideLoops(out));
        BlockInstruction unrolled = new BlockInstruction(Opcode.LOOP, BlockType.EMPTY, out);
        unrolledLoops.put(unrolled, iterationSize);
        return exitThroughEnclosing ? unrolled : BlockInstruction.block(BlockType.EMPTY, List.of(unrolled));
    }

    /**
     * Whether the condition {@code iteration} leaves on the stack can be negated without an instruction
     * (it ends with a comparison to flip, or an {@code i32.eqz} to drop).
     */
    private static boolean negatesFreely(List<Instruction> iteration) {
        Instruction last = iteration.get(iteration.size() - 1);
        return last instanceof SimpleInstruction
                && (last.opcode() == Opcode.I32_EQZ || flippedComparison(last.opcode()) != null);
    }

    /**
     * A fresh copy of {@code body} (every instruction a new object: later passes key instructions by
     * identity, and each copy has its own stack types and call indices), branches past {@code depth}
     * labels reaching {@code shift} further. Copies of check markers and unrolled loops are registered
     * as such.
     */
    private List<Instruction> copyShiftingOuterLabels(List<Instruction> body, int depth, int shift) {
        List<Instruction> out = new ArrayList<>(body.size());
        for (Instruction in : body) {
            if (in instanceof SimpleInstruction s) {
                switch (s.opcode()) {
                    case BR: case BR_IF:
                        out.add(SimpleInstruction.of(s.opcode(), s.index() > depth ? s.index() + shift : s.index()));
                        break;
                    case BR_TABLE: {
                        long[] labels = s.immediates();
                        for (int i = 0; i < labels.length; i++) {
                            if (labels[i] > depth) {
                                labels[i] += shift;
                            }
                        }
                        out.add(SimpleInstruction.of(Opcode.BR_TABLE, labels));
                        break;
                    }
                    default:
                        SimpleInstruction copy = new SimpleInstruction(s.opcode(), s.immediates(), s.types());
                        Long cost = costs.get(s);
                        if (cost != null) {
                            costs.put(copy, cost); // the back-edge check of a nested unrolled loop
                            if (backEdges.contains(s)) {
                                backEdges.add(copy);
                            }
                        }
                        out.add(copy);
                        break;
                }
            } else if (in instanceof IfInstruction i) {
                out.add(new IfInstruction(i.blockType(), copyShiftingOuterLabels(i.thenBody(), depth + 1, shift),
                        copyShiftingOuterLabels(i.elseBody(), depth + 1, shift)));
            } else {
                StructuredInstruction st = (StructuredInstruction) in;
                BlockInstruction copy = new BlockInstruction(st.opcode(), st.blockType(),
                        copyShiftingOuterLabels(st.body(), depth + 1, shift));
                Integer iteration = unrolledLoops.get(st);
                if (iteration != null) {
                    unrolledLoops.put(copy, iteration);
                }
                out.add(copy);
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

    /**
     * Replaces the markers in {@code body} (nested bodies included) by plain checks, those on back
     * edges by {@link #backEdgeCheck}.
     */
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
                List<Instruction> check = backEdges.contains(in)
                        ? backEdgeCheck(costs.get(in), in, ((SimpleInstruction) body.get(it.nextIndex())).index())
                        : plainCheck(costs.get(in), in);
                for (Instruction c : check) {
                    it.add(c);
                }
            }
        }
    }

    /** Code after a branch point bigger than this is charged where it starts, not by the check before. */
    static final int CHARGE_REGION = 256;

    /**
     * Splits the charges of code that may be skipped, outside loops (code a call runs once): after a
     * branch point (a {@code br_if}, a {@code br_table}, a block or if that a branch may leave early)
     * followed by more than {@link #CHARGE_REGION} instructions, and at the start of an if arm of that
     * size, a bare charge {@code fuel -= cost} (no test: the next check tests) pays for the code up to
     * the next such point, which the check before then leaves out. So a function like {@code memcpy},
     * whose hundreds of instructions mostly sit on paths a given call skips, is charged about what a
     * call runs, not its whole body; a bare charge costs 4 instructions per 256 or more charged. Loop
     * iterations are charged whole by their check (a bare charge inside would run every iteration).
     */
    void placeCharges(List<Instruction> body) {
        for (Instruction in : body) {
            if (!(in instanceof StructuredInstruction st) || st.opcode() == Opcode.LOOP) {
                continue; // a loop's iteration is charged whole: a bare charge there would run every time
            }
            placeCharges(st.body());
            if (st instanceof IfInstruction i) {
                placeCharges(i.elseBody());
                chargeAtStartIfLarge(i.thenBody());
                chargeAtStartIfLarge(i.elseBody());
            }
        }
        long region = 0;
        for (int i = body.size() - 1; i >= 1; i--) {
            Instruction in = body.get(i);
            if (chargeStarts.contains(in)) {
                region = 0; // the rest is charged by that charge
                continue;
            }
            region += costOf(in);
            if (region > CHARGE_REGION && mayBranchAway(body.get(i - 1))) {
                body.addAll(i, bareCharge(region));
                region = 0;
            }
        }
    }

    private void chargeAtStartIfLarge(List<Instruction> arm) {
        long cost = costOutsideLoops(arm) - 1;
        if (cost > CHARGE_REGION) {
            arm.addAll(0, bareCharge(cost));
        }
    }

    /** {@code fuel -= cost}, its first instruction remembered as the start of a charged region. */
    private List<Instruction> bareCharge(long cost) {
        List<Instruction> out = new ArrayList<>();
        out.add(globalGet(fuelGlobal));
        out.add(op(Opcode.I64_CONST, cost + 4)); // and its own 4 instructions
        out.add(op(Opcode.I64_SUB));
        out.add(globalSet(fuelGlobal));
        chargeStarts.add(out.get(0));
        return out;
    }

    /** Whether the code after {@code in} may be skipped: {@code in} branches, or holds a branch out of it. */
    private static boolean mayBranchAway(Instruction in) {
        switch (in.opcode()) {
            case BR_IF: case BR_TABLE: case BR_ON_NULL: case BR_ON_NON_NULL: case BR_ON_CAST: case BR_ON_CAST_FAIL:
                return true;
            default:
                break;
        }
        return in instanceof StructuredInstruction st && leaves(st, 0);
    }

    /** Whether {@code st}'s code branches past {@code st} itself ({@code depth} labels already inside). */
    private static boolean leaves(StructuredInstruction st, int depth) {
        List<List<Instruction>> bodies = st instanceof IfInstruction i ? List.of(i.thenBody(), i.elseBody())
                : List.of(st.body());
        for (List<Instruction> b : bodies) {
            for (Instruction in : b) {
                if (in instanceof StructuredInstruction inner) {
                    if (leaves(inner, depth + 1)) {
                        return true;
                    }
                    continue;
                }
                SimpleInstruction s = (SimpleInstruction) in;
                switch (s.opcode()) {
                    case BR: case BR_IF: case BR_ON_NULL: case BR_ON_NON_NULL:
                        if (s.index() > depth) {
                            return true;
                        }
                        break;
                    case BR_ON_CAST: case BR_ON_CAST_FAIL:
                        return true; // label position varies by encoding: assume it may
                    case BR_TABLE:
                        for (long l : s.immediates()) {
                            if (l > depth) {
                                return true;
                            }
                        }
                        break;
                    case RETURN: case RETURN_CALL: case RETURN_CALL_INDIRECT: case RETURN_CALL_REF:
                    case UNREACHABLE: case THROW: case THROW_REF:
                        return true;
                    default:
                        break;
                }
            }
        }
        return false;
    }

    private void meterLoops(List<Instruction> body) {
        InstructionWalker.forEach(body, in -> {
            if (in.opcode() == Opcode.LOOP && !unrolledLoops.containsKey(in)) {
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
            if (chargeStarts.contains(in)) {
                break; // charged there
            }
            n += costOf(in);
        }
        return n;
    }

    /** What {@code in} adds to the cost of the code around it (see {@link #costOutsideLoops}). */
    private long costOf(Instruction in) {
        long n = 1;
        if (in.opcode() == Opcode.CALL || in.opcode() == Opcode.RETURN_CALL) {
            n += callSiteCosts.getOrDefault(((SimpleInstruction) in).index(), 0L);
        }
        if (in instanceof StructuredInstruction st && (st.opcode() != Opcode.LOOP || unrolledLoops.containsKey(st))) {
            long inner = costOutsideLoops(st.body()) - 1;
            if (st instanceof IfInstruction i) {
                inner = Math.max(inner, costOutsideLoops(i.elseBody()) - 1); // one arm runs
            }
            n += inner;
        }
        return n;
    }

    /** {@code fuel -= cost}, then pushes {@code fuel < 0}. */
    List<Instruction> chargeAndTest(long cost) {
        return chargeAndCompare(cost, Opcode.I64_LT_S);
    }

    /** {@code fuel -= cost}, then pushes {@code fuel >= 0} (fuel left). */
    List<Instruction> chargeAndTestLeft(long cost) {
        return chargeAndCompare(cost, Opcode.I64_GE_S);
    }

    private List<Instruction> chargeAndCompare(long cost, Opcode comparison) {
        List<Instruction> out = new ArrayList<>();
        out.add(globalGet(fuelGlobal));
        out.add(op(Opcode.I64_CONST, cost));
        out.add(op(Opcode.I64_SUB));
        out.add(globalSet(fuelGlobal));
        out.add(globalGet(fuelGlobal));
        out.add(op(Opcode.I64_CONST, 0));
        out.add(op(comparison));
        return out;
    }

    /** Whether {@code marker} sits on the back edge of an unrolled loop, followed by its {@code br}. */
    boolean isBackEdge(Instruction marker) {
        return backEdges.contains(marker);
    }

    /**
     * The check on an unrolled loop's back edge, before its {@code br label}: with fuel left, straight
     * back to the loop; otherwise the call, then the {@code br}.
     * <pre>
     * fuel -= cost
     * br_if label (fuel &gt;= 0)
     * fuel_exhausted()
     * </pre>
     */
    private List<Instruction> backEdgeCheck(long cost, Instruction call, int label) {
        List<Instruction> out = chargeAndTestLeft(cost);
        out.add(SimpleInstruction.of(Opcode.BR_IF, label));
        out.add(call);
        return out;
    }

    /** {@code fuel -= cost; if (fuel < 0) fuel_exhausted();} with the marker as the call. */
    private List<Instruction> plainCheck(long cost, Instruction call) {
        List<Instruction> out = chargeAndTest(cost);
        out.add(Emit.ifThen(List.of(call)));
        return out;
    }
}
