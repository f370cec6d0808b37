package io.asyncify4j.asyncify;

import io.asyncify4j.wasm.ir.BlockInstruction;
import io.asyncify4j.wasm.ir.BlockType;
import io.asyncify4j.wasm.ir.Catch;
import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import io.asyncify4j.wasm.ir.TryTableInstruction;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Function;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.ValType;
import io.asyncify4j.wasm.typing.FunctionTyping;
import io.asyncify4j.wasm.typing.StackState;
import io.asyncify4j.wasm.typing.StackTyper;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.ListIterator;
import java.util.Map;
import java.util.function.Predicate;

import static io.asyncify4j.asyncify.Emit.globalGet;
import static io.asyncify4j.asyncify.Emit.i32;
import static io.asyncify4j.asyncify.Emit.ifThen;
import static io.asyncify4j.asyncify.Emit.localGet;
import static io.asyncify4j.asyncify.Emit.localSet;
import static io.asyncify4j.asyncify.Emit.localTee;
import static io.asyncify4j.asyncify.Emit.op;

/**
 * Rewrites one function so it can unwind and rewind at its may-unwind call sites.
 *
 * <p>The function body is split, at every level of nesting, into runs of code that cannot unwind and
 * the instructions that can (may-unwind calls, and blocks containing them). Around each such
 * instruction X, every operand-stack value of the enclosing block is moved into locals, so no value
 * lives on the wasm stack across X. The body is then emitted twice:
 * <ul>
 * <li>the <em>running</em> copy, for calls made in normal state: the original code with those locals,
 * where each may-unwind call records its call index and is followed by a branch, not taken in normal
 * running, to a shared exit that pushes a frame (call index and live locals) onto the asyncify stack,
 * checking for overflow first;
 * <li>the <em>resuming</em> copy, run after the frame is popped and the locals restored on entry in
 * rewinding state, which finds its way back to the saved call:
 * <pre>
 *   if (state == normal) { local.get V...; &lt;run before X&gt;; local.set W... }   ;; skipped on rewind
 *   if (state == normal || callIndex in X) { local.get inputs; X'; local.set results }
 * </pre>
 * Call sites are numbered in program order; a rewind re-enters exactly the blocks that contain the
 * saved call index, so a body only ever runs in rewinding state when it contains the call being
 * resumed, and the code after the last may-unwind instruction of a body runs unguarded. {@code if}
 * picks its arm by call index while rewinding.
 * </ul>
 * Once the rewind reaches its call, the resuming copy runs on in normal state, guards and all, until
 * the function returns; so that a long-running function resumed once does not stay slow, each loop in
 * the resuming copy is split again (see {@link #emitSplitLoop}): one guarded iteration to resume in,
 * then the loop with the running copy of its body. The two copies share their locals, so a frame
 * saved by either is resumed by the other.
 */
final class FunctionInstrumenter {
    /** The module-level pieces the instrumented code refers to. */
    interface Abi {
        int stateGlobal();

        int dataGlobal();

        int dataMemory();

        int faultFunctionGlobal();

        int faultKindGlobal();

        RefStore refs();

        /** Host import storing a v128 at an address of the data memory, or -1 to use v128.store. */
        int v128Store();

        /** Host import loading a v128 from an address of the data memory, or -1 to use v128.load. */
        int v128Load();

        /** Whether the data memory is the transform's own, so the stack may grow it on demand. */
        boolean growableData();

        /** Fuel check markers and their costs, or null when the module is not metered. */
        FuelMetering fuel();

        /**
         * Whether the module uses typed references (function references or GC). When it does not, the
         * locals the transform adds hold only abstract nullable references, so the output needs no
         * feature the input did not use.
         */
        boolean typedReferences();

        /**
         * Whether frames end with an owner trailer {type index, function index}: set when some
         * instrumented function makes a tail call that may unwind (see {@link #tailCallDispatch}).
         */
        boolean ownerTrailers();

        /** Whether this tail call must become call + return (its callee's frames live elsewhere). */
        boolean lowerTailCall(SimpleInstruction returnCall);

        /**
         * The table holding every function at its own index, for re-entering a tail callee on rewind;
         * -1 when no tail call may unwind.
         */
        int dispatchTable();

        /**
         * Whether the function gets a running copy of its body for calls made in normal state; not
         * worth its size for a function that runs once (see {@link OneShotFunctions}).
         */
        boolean runningCopy(int function);

        /** Type indices of instrumented functions returning {@code results}: where a tail chain may continue. */
        List<Integer> tailCallTargets(List<ValType> results);

        /**
         * Reserves {@code count} consecutive call indices, unique in the module, for one function's call
         * sites; returns the first. A frame holds the module-wide index, so a rewind can tell its owner.
         */
        int reserveCallIndices(int count);

        /**
         * Instructions of copies this function may get beyond its guarded form (running copies of
         * split loops), or -1 for the default {@link #DEFAULT_COPY_BUDGET_BASE} plus
         * {@link #COPY_BUDGET_PER_INSTRUCTION} per instruction of the function.
         */
        default int copyBudget() {
            return -1;
        }

        /**
         * Whether a function with a running copy moves its resuming copy (rewind prologue, guarded body,
         * unwind exit) into a function of its own, which it calls when entered rewinding: the running
         * copy is then all its JVM method holds on an engine that compiles functions to methods, so the
         * hot code stays small enough for HotSpot to compile it and inline its accessors
         * ({@link AsyncifyOptions.Target#COMPILER}).
         */
        default boolean outlineResume() {
            return false;
        }
    }

    /** Copy budget of every function (see {@link Abi#copyBudget()}). */
    static final int DEFAULT_COPY_BUDGET_BASE = 1024;
    /** Copy budget per instruction of a function: loops nest 1 to 3 deep in real code, so all are split. */
    static final int COPY_BUDGET_PER_INSTRUCTION = 4;

    private static final int EXIT_LABEL = 1; // absolute depth of the unwind exit block

    private final ModuleModel m;
    private final int funcIndex;
    private final Function f;
    private final FuncType signature;
    private final Abi abi;
    private final Predicate<SimpleInstruction> unwinds;
    private final LabelMap labels = new LabelMap();
    private final Map<Instruction, int[]> ranges = new IdentityHashMap<>();
    /** In the running copy: call index to the absolute depth of that call site's exit block. */
    private final Map<Integer, Integer> siteExitLabel = new java.util.HashMap<>();
    /** Added locals that hold a value across a may-unwind instruction, so frames must save them. */
    private final BitSet pendingAcross = new BitSet();
    /** Declared type of each local that held a non-nullable reference (its gets re-assert non-null). */
    private final Map<Integer, ValType> nonNullLocals = new java.util.HashMap<>();
    private FunctionTyping typing;
    private boolean unwindingTailCalls;
    private int callSites;
    /** The module-wide index of this function's call site 0 (see {@link Abi#reserveCallIndices}). */
    private int callIndexBase;
    private int callIndexLocal;
    /**
     * Whether the code being emitted runs only in normal state: the copy of a loop that runs its
     * iterations (see {@link #emitSplitLoop}). It needs no guards, only the unwind checks after calls.
     */
    private boolean normalOnly;
    /**
     * Whether the code being emitted runs only rewinding: the start of a resuming copy that is entered
     * only while rewinding (a function with a running copy), up to its first unwindable instruction.
     */
    private boolean knownRewinding;
    /** Instructions of loop bodies the function may still copy for split loops (see {@link #emitSplitLoop}). */
    private long copyBudget;
    /** Instructions in each loop, nested ones included: what splitting it copies. */
    private final Map<Instruction, Integer> loopSizes = new IdentityHashMap<>();
    // The two copies of a loop body hold values in the same locals, so a frame saved by one is resumed
    // by the other: locals are allocated once per original instruction (or body, for block params).
    private final Map<Instruction, List<Integer>> spillLocals = new IdentityHashMap<>();
    private final Map<Instruction, List<Integer>> resultLocals = new IdentityHashMap<>();
    private final Map<List<Instruction>, List<Integer>> paramLocals = new IdentityHashMap<>();
    /**
     * The transform's temporaries whose values are dead, by declared type, for reuse (see {@link #temps}):
     * temps are taken and given back in program order as the guarded copy is emitted, so temps whose live
     * ranges do not overlap share a local.
     */
    private final Map<ValType, ArrayDeque<Integer>> freeTemps = new HashMap<>();
    /** The declared type of each temporary (its pool). */
    private final Map<Integer, ValType> tempTypes = new HashMap<>();

    FunctionInstrumenter(ModuleModel m, int funcIndex, Abi abi, Predicate<SimpleInstruction> unwinds) {
        this.m = m;
        this.funcIndex = funcIndex;
        this.f = m.definedFunction(funcIndex);
        this.signature = m.funcType(f.typeIndex());
        this.abi = abi;
        this.unwinds = unwinds;
    }

    /** Instruments the function; returns the number of may-unwind call sites. */
    int run() {
        for (ValType r : signature.results()) {
            if (r.isRef() && !r.nullable()) {
                throw new AsyncifyException("cannot instrument " + m.functionDisplayName(funcIndex)
                        + ": it returns a non-nullable reference (" + r + "), and unwinding must return a value");
            }
        }
        lowerReturnCalls(f.body());
        makeLocalsNullable();
        if (abi.fuel() != null) {
            expandFuelChecksAtLoopsWithParams(f.body());
        }
        typing = StackTyper.type(m, funcIndex);
        number(f.body());
        if (callSites == 0 && !unwindingTailCalls) {
            return 0;
        }
        callIndexBase = abi.reserveCallIndices(callSites);
        int size = measureLoops(f.body());
        copyBudget = abi.copyBudget() >= 0 ? abi.copyBudget()
                : DEFAULT_COPY_BUDGET_BASE + (long) COPY_BUDGET_PER_INSTRUCTION * size;
        int originalLocalCount = signature.params().size() + f.locals().size();
        // Original locals a frame must keep: those live after some may-unwind call site.
        BitSet liveAcrossCalls = new BitSet();
        Map<Instruction, BitSet> liveAfter = LocalLiveness.ofCalls(f.body());
        for (Instruction site : ranges.keySet()) {
            if (site instanceof SimpleInstruction) {
                liveAcrossCalls.or(liveAfter.get(site));
            }
        }
        callIndexLocal = newLocal(ValType.I32);

        List<Instruction> newBody = new ArrayList<>();
        boolean twoCopies = abi.runningCopy(funcIndex);
        labels.enterSynthetic(); // $exit, where unwinds go to save the frame
        knownRewinding = twoCopies;
        List<Instruction> resuming = sequence(f.body(), List.of());
        knownRewinding = false;
        resuming.add(op(Opcode.RETURN));
        List<Instruction> running = null;
        List<Integer> siteExits = List.of();
        if (twoCopies) {
            siteExits = callSitesWorthExits();
            for (int k = 0; k < siteExits.size(); k++) {
                siteExitLabel.put(siteExits.get(k), labels.depth()); // absolute depth of its block
                labels.enterSynthetic();
            }
            normalOnly = true;
            running = sequence(f.body(), List.of());
            running.add(op(Opcode.RETURN));
            normalOnly = false;
            for (int k = 0; k < siteExits.size(); k++) {
                labels.exitSynthetic();
            }
        }
        labels.exitSynthetic();

        // Locals to save: originals that are ever read, plus spills that carry values past a call.
        List<Integer> saved = new ArrayList<>();
        int total = signature.params().size() + f.locals().size();
        for (int i = 0; i < total; i++) {
            boolean save = i < originalLocalCount ? liveAcrossCalls.get(i) : pendingAcross.get(i);
            if (save && i != callIndexLocal) {
                saved.add(i);
            }
        }
        FrameLayout layout = new FrameLayout(saved);
        int frameLocal = frameLocal();

        // A call made in normal state runs the copy without guards; a call made rewinding (a function
        // is never entered unwinding) restores the frame and runs the guarded copy, which finds its way
        // back to the call that unwound. Both copies' unwinds leave the if and save the frame below it:
        //   if (state)  restore; resuming copy; return  else  running copy; return  end
        // (A one-shot function has only the guarded copy, after an if that restores the frame.)
        List<Instruction> prologue = rewindPrologue(layout, frameLocal);
        List<Instruction> isRewinding = List.of(globalGet(abi.stateGlobal()), i32(AsyncifyAbi.STATE_REWINDING),
                op(Opcode.I32_EQ));
        List<Instruction> outlined = null;
        if (twoCopies) {
            List<Instruction> normal = new ArrayList<>(running);
            // Call sites with exits of their own: the innermost block is the last site's; leaving it
            // records that site's index and goes on to the end of the if.
            for (int k = siteExits.size() - 1; k >= 0; k--) {
                List<Instruction> landing = new ArrayList<>();
                landing.add(BlockInstruction.block(BlockType.EMPTY, normal));
                landing.add(i32(siteExits.get(k)));
                landing.add(localSet(callIndexLocal));
                if (k > 0) {
                    landing.add(op(Opcode.BR, k)); // out to the end of the if
                }
                normal = landing;
            }
            if (abi.outlineResume()) {
                // Entered rewinding: the resuming copy, in a function of its own with the same locals
                // (so the same frames), restores the frame and saves it again if it unwinds:
                //   if (state) { return resume(params) }  block running copy end  save frame
                outlined = new ArrayList<>();
                outlined.add(BlockInstruction.block(BlockType.EMPTY, concat(prologue, resuming)));
                outlined.addAll(unwindEpilogue(layout, frameLocal));
                placeholderResults(outlined);
                List<Instruction> delegate = new ArrayList<>();
                for (int p = 0; p < signature.params().size(); p++) {
                    delegate.add(localGet(p));
                }
                delegate.add(op(Opcode.CALL, m.functionCount()));
                delegate.add(op(Opcode.RETURN));
                newBody.addAll(isRewinding);
                newBody.add(ifThen(delegate));
                // the running copy's exits leave this block as they leave the else of the if below
                newBody.add(BlockInstruction.block(BlockType.EMPTY, normal));
            } else {
                List<Instruction> rewind = new ArrayList<>(prologue);
                rewind.addAll(resuming);
                newBody.add(globalGet(abi.stateGlobal()));
                newBody.add(new IfInstruction(BlockType.EMPTY, rewind, normal));
            }
        } else {
            newBody.addAll(isRewinding);
            newBody.add(ifThen(prologue));
            newBody.add(BlockInstruction.block(BlockType.EMPTY, resuming));
        }
        newBody.addAll(unwindEpilogue(layout, frameLocal));
        placeholderResults(newBody);
        f.body().clear();
        f.body().addAll(newBody);
        if (outlined != null) {
            int resume = m.functionCount();
            m.functions().add(new Function(f.typeIndex(), f.locals(), outlined));
            if (m.names() != null && m.names().functionNames().containsKey(funcIndex)) {
                m.names().functionNames().put(resume, m.names().functionNames().get(funcIndex) + "$resume");
            }
        }
        return callSites;
    }

    /** Unwinding returns placeholder results, which the caller ignores. */
    private void placeholderResults(List<Instruction> out) {
        for (ValType r : signature.results()) {
            if (r.equals(ValType.V128) && abi.v128Load() >= 0) {
                out.add(i32(0)); // no v128.const without SIMD: any 16 bytes will do
                out.add(op(Opcode.CALL, abi.v128Load()));
            } else {
                out.add(Emit.zero(r));
            }
        }
    }

    private static List<Instruction> concat(List<Instruction> a, List<Instruction> b) {
        List<Instruction> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    // ------------------------------------------------------------------ preparation

    private void lowerReturnCalls(List<Instruction> body) {
        InstructionWalker.forEachBody(body, b -> {
            ListIterator<Instruction> it = b.listIterator();
            while (it.hasNext()) {
                if (!(it.next() instanceof SimpleInstruction s)) {
                    continue;
                }
                Opcode plain;
                switch (s.opcode()) {
                    case RETURN_CALL: plain = Opcode.CALL; break;
                    case RETURN_CALL_INDIRECT: plain = Opcode.CALL_INDIRECT; break;
                    case RETURN_CALL_REF: plain = Opcode.CALL_REF; break;
                    default: continue;
                }
                SimpleInstruction call = SimpleInstruction.of(plain, s.immediates());
                if (!unwinds.test(call)) {
                    continue;
                }
                if (abi.lowerTailCall(s)) {
                    // The callee's frames are not on this module's asyncify stack: make it a plain call.
                    it.set(call);
                    it.add(op(Opcode.RETURN));
                } else {
                    // Kept as a tail call: on rewind this function finds its tail callee's frame on top
                    // and tail-calls it again (see tailCallDispatch).
                    unwindingTailCalls = true;
                }
            }
        });
    }

    /**
     * Non-nullable locals become nullable, with {@code ref.as_non_null} after each read: restoring a
     * local inside the rewind prologue, or setting it inside a guard, would not count as initializing it.
     */
    private void makeLocalsNullable() {
        int params = signature.params().size();
        for (int i = 0; i < f.locals().size(); i++) {
            ValType t = f.locals().get(i);
            if (t.isRef() && !t.nullable()) {
                nonNullLocals.put(params + i, t);
                f.locals().set(i, Emit.storable(t));
            }
        }
        if (!nonNullLocals.isEmpty()) {
            reassertNonNull(f.body());
        }
    }

    private void reassertNonNull(List<Instruction> body) {
        InstructionWalker.forEachBody(body, b -> {
            ListIterator<Instruction> it = b.listIterator();
            while (it.hasNext()) {
                Instruction in = it.next();
                if ((in.opcode() == Opcode.LOCAL_GET || in.opcode() == Opcode.LOCAL_TEE)
                        && nonNullLocals.containsKey(((SimpleInstruction) in).index())) {
                    it.add(op(Opcode.REF_AS_NON_NULL));
                }
            }
        });
    }

    /**
     * A fuel check at the head of a loop with params has those params pending on the stack: it goes
     * the general way (expanded to its plain form). Every other check gets the fast form in
     * {@link #sequence}.
     */
    private void expandFuelChecksAtLoopsWithParams(List<Instruction> body) {
        InstructionWalker.forEach(body, in -> {
            if (in.opcode() == Opcode.LOOP && !blockParams(((StructuredInstruction) in).blockType()).isEmpty()) {
                abi.fuel().expandFirst(((StructuredInstruction) in).body());
            }
        });
    }

    /**
     * Call sites that get an exit block of their own in the running copy (so a call there need not
     * record its index first): all of them when some sit inside a loop (so calls outnumber entries to
     * the function, each of which enters the blocks) and there are at most {@link #MAX_SITE_EXITS}.
     */
    private List<Integer> callSitesWorthExits() {
        List<Integer> sites = new ArrayList<>();
        boolean[] inLoop = {false};
        collectCallSites(f.body(), false, sites, inLoop);
        return inLoop[0] && sites.size() <= MAX_SITE_EXITS ? sites : List.of();
    }

    private void collectCallSites(List<Instruction> body, boolean loop, List<Integer> sites, boolean[] inLoop) {
        for (Instruction in : body) {
            int[] range = ranges.get(in);
            if (range == null) {
                continue;
            }
            if (in instanceof SimpleInstruction) {
                if (abi.fuel() == null || abi.fuel().cost(in) < 0) { // a call, not a fuel check
                    sites.add(range[0]);
                    inLoop[0] |= loop;
                }
                continue;
            }
            StructuredInstruction st = (StructuredInstruction) in;
            boolean nested = loop || st.opcode() == Opcode.LOOP;
            collectCallSites(st.body(), nested, sites, inLoop);
            if (st instanceof IfInstruction i) {
                collectCallSites(i.elseBody(), nested, sites, inLoop);
            }
        }
    }

    /** Most call sites given exit blocks of their own (each costs a block entered per call of the function). */
    private static final int MAX_SITE_EXITS = 16;

    /** Numbers reachable may-unwind call sites in program order and records each block's index range. */
    private void number(List<Instruction> body) {
        for (Instruction in : body) {
            if (typing.before(in).unreachable()) {
                continue;
            }
            if (in instanceof SimpleInstruction s) {
                if (isCall(s.opcode()) && unwinds.test(s)) {
                    ranges.put(in, new int[] {callSites, callSites});
                    callSites++;
                }
                continue;
            }
            StructuredInstruction st = (StructuredInstruction) in;
            int lo = callSites;
            number(st.body());
            int thenEnd = callSites;
            if (st instanceof IfInstruction i) {
                number(i.elseBody());
            }
            if (callSites > lo) {
                // For an if: {lo, hi, end of then-arm (exclusive)}.
                ranges.put(in, new int[] {lo, callSites - 1, thenEnd});
            }
        }
    }

    private static boolean isCall(Opcode op) {
        return op == Opcode.CALL || op == Opcode.CALL_INDIRECT || op == Opcode.CALL_REF;
    }

    private int newLocal(ValType type) {
        int index = f.addLocal(signature.params().size(), Emit.storable(type));
        if (type.isRef() && !type.nullable()) {
            nonNullLocals.put(index, type);
        }
        return index;
    }

    private void pushLocals(List<Instruction> out, List<Integer> locals) {
        for (int l : locals) {
            out.add(localGet(l));
            if (nonNullLocals.containsKey(l)) {
                out.add(op(Opcode.REF_AS_NON_NULL));
            }
        }
    }

    private static void popInto(List<Instruction> out, List<Integer> locals) {
        for (int i = locals.size() - 1; i >= 0; i--) {
            out.add(localSet(locals.get(i)));
        }
    }

    /**
     * Locals for values of {@code types} held by the transform: dead temporaries of the same types when
     * there are, else new locals. Only the guarded copy (emitted first: see {@link #run}) takes and gives
     * back temps; the running copies of the same instructions find theirs in the maps above and use them
     * over ranges within the guarded copy's, so a temp is never shared with one live at the same time in
     * either copy. In program order, a value held by the transform lives from the run that produces it to
     * the one that consumes it, and values nest like the operand stack they stand for: a temp taken inside
     * an unwindable instruction is given back before the instruction ends, while the values held across it
     * are still taken. So a frame saved at any call keeps every temp live there in a local of its own.
     */
    private List<Integer> temps(List<ValType> types) {
        List<Integer> out = new ArrayList<>();
        for (ValType t : types) {
            if (normalOnly) {
                out.add(newLocal(t)); // not expected: every instruction was emitted guarded first
                continue;
            }
            ArrayDeque<Integer> free = freeTemps.get(t);
            if (free != null && !free.isEmpty()) {
                out.add(free.pop());
            } else {
                int l = newLocal(t);
                tempTypes.put(l, t);
                out.add(l);
            }
        }
        return out;
    }

    /** Gives temps back (their values are dead from here on); a no-op outside the guarded copy. */
    private void release(List<Integer> locals) {
        if (normalOnly) {
            return;
        }
        for (int i = locals.size() - 1; i >= 0; i--) {
            int l = locals.get(i);
            freeTemps.computeIfAbsent(tempTypes.get(l), t -> new ArrayDeque<>()).push(l);
        }
    }

    /**
     * The local holding the frame's address in the rewind prologue and the unwind epilogue: a temp of
     * type i32 that no frame saves, when there is one. Its value is dead wherever those run: a temp not
     * saved holds no value across a call, and a rewind reads such temps only where any value will do
     * (the arguments of the call it resumes, which the callee ignores, conditions it overrides).
     */
    private int frameLocal() {
        ArrayDeque<Integer> free = freeTemps.get(ValType.I32);
        if (free != null) {
            for (int l : free) {
                if (!pendingAcross.get(l)) {
                    return l;
                }
            }
        }
        return newLocal(ValType.I32);
    }

    // ------------------------------------------------------------------ emission

    private void isNormal(List<Instruction> out) {
        out.add(globalGet(abi.stateGlobal()));
        out.add(op(Opcode.I32_EQZ));
    }

    /**
     * Pushes whether the saved call index is at most {@code hi}: whether it lies in [lo, hi] for an
     * instruction whose sites start at lo, wherever a rewind meets that instruction. A rewind runs guarded
     * code in program order and call sites are numbered in program order, so any site before the
     * instruction, if it were the saved one, would have been reached already (the rewind stops there).
     */
    private void callIndexAtMost(List<Instruction> out, int hi) {
        out.add(localGet(callIndexLocal));
        if (hi == 0) {
            out.add(op(Opcode.I32_EQZ));
        } else {
            out.add(i32(hi));
            out.add(op(Opcode.I32_LE_U));
        }
    }

    /** Pushes whether the saved call index lies in [lo, hi]. */
    private void callIndexIn(List<Instruction> out, int lo, int hi) {
        out.add(localGet(callIndexLocal));
        if (lo == hi && lo == 0) {
            out.add(op(Opcode.I32_EQZ));
        } else if (lo == hi) {
            out.add(i32(lo));
            out.add(op(Opcode.I32_EQ));
        } else {
            out.add(i32(lo));
            out.add(op(Opcode.I32_SUB));
            out.add(i32(hi - lo));
            out.add(op(Opcode.I32_LE_U));
        }
    }

    /**
     * Transforms a body that starts with the values held in locals {@code entry} on the stack, and
     * ends leaving its results on the stack.
     */
    private List<Instruction> sequence(List<Instruction> body, List<Integer> entry) {
        List<Instruction> out = new ArrayList<>();
        List<Integer> held = entry;
        // In the running copy, results nothing lies below stay on the stack instead of in their locals.
        boolean heldOnStack = false;
        int start = 0;
        int lastUnwindable = -1;
        for (int i = 0; i < body.size(); i++) {
            if (ranges.containsKey(body.get(i))) {
                lastUnwindable = i;
            }
        }
        for (int i = 0; i < body.size(); i++) {
            Instruction x = body.get(i);
            int[] range = ranges.get(x);
            if (range == null) {
                continue;
            }
            StackState st = typing.before(x);
            int base = st.frameBase();
            int height = st.height();
            List<Instruction> before = body.subList(start, i);
            long fuelCost = abi.fuel() == null ? -1 : abi.fuel().cost(x);
            if (fuelCost >= 0 && height == base) {
                // A check with nothing on the stack: at a body's start, or on an unrolled loop's back
                // edge, where the run before it consumes whatever earlier results were held.
                if (!before.isEmpty()) {
                    emitRun(out, heldOnStack ? List.of() : held, before, List.of());
                }
                releaseHeld(held, entry);
                held = List.of();
                heldOnStack = false;
                if (abi.fuel().isBackEdge(x)) {
                    emitBackEdgeFuelCheck(out, (SimpleInstruction) x, fuelCost, range,
                            labels.map(((SimpleInstruction) body.get(i + 1)).index()));
                } else {
                    emitFuelCheck(out, (SimpleInstruction) x, fuelCost, range);
                }
                knownRewinding = false;
                start = i + 1;
                continue;
            }
            knownRewinding = false; // a structured X may be a loop, whose body runs again in normal state
            if (!normalOnly && i == lastUnwindable && x instanceof IfInstruction branch && !before.isEmpty()
                    && height - base == 1 && inputCount(x) == 1) {
                // The body's last unwindable instruction is an if whose condition alone is on the stack:
                // the run that computes it and the arm a rewind picks are one if, and the condition
                // needs no local:
                //   if (state) (result i32)  arm holding the saved call index  else  run  end  if X'
                List<Instruction> run = new ArrayList<>();
                labels.enterSynthetic();
                pushLocals(run, held);
                run.addAll(labels.copy(before));
                labels.exitSynthetic();
                releaseHeld(held, entry);
                List<Instruction> pick = new ArrayList<>();
                rewindArm(pick, range);
                out.add(globalGet(abi.stateGlobal()));
                out.add(new IfInstruction(BlockType.of(ValType.I32), pick, run));
                emitIf(out, branch);
                List<ValType> resultTypes = resultTypes(x);
                heldOnStack = !resultTypes.contains(ValType.V128);
                held = heldOnStack ? List.of() : resultLocals.computeIfAbsent(x, k -> temps(resultTypes));
                if (!heldOnStack) {
                    popInto(out, held);
                }
                start = i + 1;
                continue;
            }
            List<Integer> spilled;
            boolean inputsOnStack = false;
            // A block's entry locals are written again (with garbage) when a rewind re-enters the block,
            // so values must be copied out of them, under the guard, before they are held across X.
            if (before.isEmpty() && (held != entry || entry.isEmpty())) {
                if (heldOnStack) {
                    popInto(out, held); // X takes its inputs from their locals
                    heldOnStack = false;
                }
                spilled = held;
            } else {
                // The running copy leaves X's inputs on the stack when nothing lies below them and no
                // frame needs them (the guarded copy sets its own locals before it reads them).
                inputsOnStack = normalOnly && height - base == inputCount(x) && !inputsSaved(x, st);
                List<ValType> types = new ArrayList<>();
                for (ValType t : st.top(height - base)) {
                    if (t.isRef() && t.heapType() >= 0 && !abi.typedReferences()) {
                        // ref.func gives a (ref $t); without typed references every consumer takes a funcref.
                        t = ValType.FUNCREF;
                    }
                    types.add(t);
                }
                // The held values are read (pushed) before the run writes X's, which may take their temps.
                List<Integer> consumed = held;
                releaseHeld(held, entry);
                spilled = inputsOnStack ? List.of() : spillLocals.computeIfAbsent(x, k -> temps(types));
                emitRun(out, heldOnStack ? List.of() : consumed, before, spilled);
                heldOnStack = false;
            }
            int inputs = inputsOnStack ? 0 : inputCount(x);
            List<Integer> pending = spilled.subList(0, spilled.size() - inputs);
            List<Integer> inputLocals = spilled.subList(spilled.size() - inputs, spilled.size());
            // Values below X's inputs are read after X, so a frame saved inside X must keep them.
            pending.forEach(pendingAcross::set);
            if (x.opcode() == Opcode.CALL_INDIRECT || x.opcode() == Opcode.CALL_REF) {
                // A rewind must call the same function again: keep the table index or reference.
                pendingAcross.set(inputLocals.get(inputLocals.size() - 1));
            }
            for (int in : inputLocals) {
                if (nonNullLocals.containsKey(in)) {
                    // A rewind skips the code that set this input, yet X still takes it with
                    // ref.as_non_null, which traps on the null a fresh local holds: keep it in the frame.
                    pendingAcross.set(in);
                }
            }
            List<ValType> resultTypes = resultTypes(x);
            // The body's last unwindable instruction with nothing below its results leaves them on the
            // stack in both copies (v128 values pass through locals in both: see inputsSaved).
            boolean resultsOnStack = i == lastUnwindable && pending.isEmpty() && !resultTypes.contains(ValType.V128);
            List<Integer> results;

            if (normalOnly) {
                if (!inputsOnStack) {
                    pushLocals(out, inputLocals);
                }
                emitUnwindable(out, x, range);
                heldOnStack = pending.isEmpty() && !resultTypes.contains(ValType.V128);
                results = resultsOnStack ? List.of() : resultLocals.computeIfAbsent(x, k -> temps(resultTypes));
                if (!heldOnStack) {
                    popInto(out, results);
                }
            } else if (splittable(x) && spendCopy(x)) {
                emitSplitLoop(out, (StructuredInstruction) x, range); // no inputs, no results
                release(inputLocals);
                results = List.of();
            } else if (i == lastUnwindable) {
                // The body's last unwindable instruction holds its last site: a rewind that got here is
                // resuming a call inside it (see callIndexAtMost), so it needs no guard.
                pushLocals(out, inputLocals);
                emitUnwindable(out, x, range);
                release(inputLocals);
                results = resultsOnStack ? List.of() : resultLocals.computeIfAbsent(x, k -> temps(resultTypes));
                heldOnStack = resultsOnStack;
                if (!resultsOnStack) {
                    popInto(out, results);
                }
            } else {
                List<Instruction> wrapped = new ArrayList<>();
                labels.enterSynthetic();
                pushLocals(wrapped, inputLocals);
                emitUnwindable(wrapped, x, range);
                release(inputLocals);
                results = resultLocals.computeIfAbsent(x, k -> temps(resultTypes));
                popInto(wrapped, results);
                labels.exitSynthetic();

                isNormal(out);
                callIndexAtMost(out, range[1]);
                out.add(op(Opcode.I32_OR));
                out.add(ifThen(wrapped));
            }

            List<Integer> next = new ArrayList<>(pending);
            next.addAll(results);
            held = next;
            start = i + 1;
        }
        if (!heldOnStack) {
            pushLocals(out, held);
        }
        releaseHeld(held, entry);
        out.addAll(labels.copy(body.subList(start, body.size())));
        return out;
    }

    /** Gives back the temps of held values once they are consumed; a body's entry locals stay its own. */
    private void releaseHeld(List<Integer> held, List<Integer> entry) {
        if (held != entry) {
            release(held);
        }
    }

    /**
     * The run of code before an unwindable instruction: the held values pushed, the run, its stack
     * popped into {@code into}; guarded by {@code if (state == normal)} in the resuming copy.
     */
    private void emitRun(List<Instruction> out, List<Integer> held, List<Instruction> before, List<Integer> into) {
        if (!normalOnly) {
            labels.enterSynthetic();
        }
        List<Instruction> run = new ArrayList<>();
        pushLocals(run, held);
        run.addAll(labels.copy(before));
        popInto(run, into);
        if (normalOnly) {
            out.addAll(run);
        } else {
            labels.exitSynthetic();
            isNormal(out);
            out.add(ifThen(run));
        }
    }

    /**
     * A fuel check with nothing pending on the stack, in one branch on the hot path of the running copy:
     * <pre>
     * fuel -= cost
     * if (fuel &lt; 0)  call fuel_exhausted; (unwind check)
     * </pre>
     * and in the guarded copy, where a rewind passes it on its way to a call below:
     * <pre>
     * if (state)                                     ;; rewinding
     *   if (callIndex == k)  call fuel_exhausted; (unwind check)   ;; resuming this check
     * else
     *   fuel -= cost
     *   if (fuel &lt; 0)  call fuel_exhausted; (unwind check)
     * </pre>
     * A rewind charges nothing: the host grants the resumed segment its fuel where the rewind stops
     * (charges made on the way were forgiven there anyway), so deterministic charges stay deterministic.
     * Where the code runs only rewinding (see {@link #knownRewinding}), only the rewinding arm is emitted.
     */
    private void emitFuelCheck(List<Instruction> out, SimpleInstruction call, long cost, int[] range) {
        if (normalOnly) {
            out.addAll(abi.fuel().chargeAndTest(cost));
            out.add(ifThen(callAndCheck(call, range, 1)));
            return;
        }
        if (knownRewinding) {
            // The entry check of a resuming copy entered only rewinding: its rewinding arm alone.
            callIndexIn(out, range[0], range[1]);
            out.add(ifThen(callAndCheck(call, range, 1)));
            return;
        }
        out.add(globalGet(abi.stateGlobal()));
        List<Instruction> rewinding = new ArrayList<>();
        callIndexIn(rewinding, range[0], range[1]);
        rewinding.add(ifThen(callAndCheck(call, range, 2)));
        List<Instruction> normal = new ArrayList<>(abi.fuel().chargeAndTest(cost));
        normal.add(ifThen(callAndCheck(call, range, 2)));
        out.add(new IfInstruction(BlockType.EMPTY, rewinding, normal));
    }

    /** The fuel import's call and its unwind check, emitted {@code nesting} synthetic labels deeper than here. */
    private List<Instruction> callAndCheck(SimpleInstruction call, int[] range, int nesting) {
        for (int i = 0; i < nesting; i++) {
            labels.enterSynthetic();
        }
        List<Instruction> out = new ArrayList<>();
        emitUnwindable(out, call, range);
        for (int i = 0; i < nesting; i++) {
            labels.exitSynthetic();
        }
        return out;
    }

    /**
     * The check on an unrolled loop's back edge (the original {@code br} to the loop follows it): with
     * fuel left and running normally, a branch straight back to the loop, else the slow path of
     * {@link #emitFuelCheck}, then that {@code br}. {@code (fuel >= 0) > state} is true exactly when
     * both hold (state is 0 when running normally):
     * <pre>
     * fuel -= cost
     * br_if loop ((fuel &gt;= 0) &gt;u state)          ;; the state test only outside the running copy
     * if (state == normal || callIndex == k)         ;; exhausted, or rewinding to this check
     *   call fuel_exhausted; (unwind check)
     * </pre>
     */
    private void emitBackEdgeFuelCheck(List<Instruction> out, SimpleInstruction call, long cost, int[] range,
            long loopLabel) {
        out.addAll(abi.fuel().chargeAndTestLeft(cost));
        if (normalOnly) {
            out.add(op(Opcode.BR_IF, loopLabel));
            emitUnwindable(out, call, range);
            return;
        }
        out.add(globalGet(abi.stateGlobal()));
        out.add(op(Opcode.I32_GT_U));
        out.add(op(Opcode.BR_IF, loopLabel));
        isNormal(out);
        callIndexIn(out, range[0], range[1]);
        out.add(op(Opcode.I32_OR));
        labels.enterSynthetic();
        List<Instruction> callAndCheck = new ArrayList<>();
        emitUnwindable(callAndCheck, call, range);
        labels.exitSynthetic();
        out.add(ifThen(callAndCheck));
    }

    /**
     * Whether X's inputs must go through their locals in the running copy too: the callee of an
     * indirect call and non-nullable references are kept in frames (a rewind calls the same callee
     * again; X re-asserts the reference), and v128 values, because Endive 1.0.x's interpreter swaps a
     * v128's halves through a local (EngineLimitationsTest), so both copies must pass them the same way.
     */
    private boolean inputsSaved(Instruction x, StackState st) {
        if (x.opcode() == Opcode.CALL_INDIRECT || x.opcode() == Opcode.CALL_REF) {
            return true;
        }
        for (ValType t : st.top(inputCount(x))) {
            if ((t.isRef() && !t.nullable()) || t.equals(ValType.V128)) {
                return true;
            }
        }
        return false;
    }

    private int inputCount(Instruction x) {
        if (x instanceof SimpleInstruction s) {
            switch (s.opcode()) {
                case CALL: return m.functionType(s.index()).params().size();
                case CALL_INDIRECT:
                case CALL_REF: return m.funcType((int) s.immediate(0)).params().size() + 1;
                default: throw new IllegalStateException(s.toString());
            }
        }
        StructuredInstruction st = (StructuredInstruction) x;
        int params = blockParams(st.blockType()).size();
        return st.opcode() == Opcode.IF ? params + 1 : params;
    }

    private List<ValType> resultTypes(Instruction x) {
        if (x instanceof SimpleInstruction s) {
            return s.opcode() == Opcode.CALL ? m.functionType(s.index()).results()
                    : m.funcType((int) s.immediate(0)).results();
        }
        BlockType bt = ((StructuredInstruction) x).blockType();
        if (bt.hasTypeIndex()) {
            return m.funcType(bt.typeIndex()).results();
        }
        return bt.result() == null ? List.of() : List.of(bt.result());
    }

    private List<ValType> blockParams(BlockType bt) {
        return bt.hasTypeIndex() ? m.funcType(bt.typeIndex()).params() : List.of();
    }

    /** Emits X' with its inputs already on the stack. */
    private void emitUnwindable(List<Instruction> out, Instruction x, int[] range) {
        if (x instanceof SimpleInstruction call) {
            // The call index is recorded before the call (a no-op while rewinding: only the call with the
            // saved index runs), so the check after it is a branch that is not taken in normal running,
            // with no block to enter and leave: an unwinding callee sends control to the shared exit.
            // A call returns in normal state or unwinding, never rewinding (a rewind stops at its leaf).
            Integer siteExit = normalOnly ? siteExitLabel.get(range[0]) : null;
            if (siteExit != null && (abi.fuel() == null || abi.fuel().cost(call) < 0)) {
                out.add(call); // its exit block records its index
                out.add(globalGet(abi.stateGlobal()));
                out.add(op(Opcode.BR_IF, labels.toAbsolute(siteExit)));
                return;
            }
            out.add(i32(range[0]));
            out.add(localSet(callIndexLocal));
            out.add(call);
            out.add(globalGet(abi.stateGlobal()));
            out.add(op(Opcode.BR_IF, labels.toAbsolute(EXIT_LABEL)));
            return;
        }
        StructuredInstruction st = (StructuredInstruction) x;
        List<ValType> params = blockParams(st.blockType());
        if (st instanceof IfInstruction i) {
            if (!normalOnly) {
                // Normally the condition decides; while rewinding, the arm holding the saved call index.
                if (range[2] > range[1]) {
                    // Every site is in the then arm: cond | state (state is not 0 while rewinding).
                    out.add(globalGet(abi.stateGlobal()));
                    out.add(op(Opcode.I32_OR));
                } else {
                    rewindArm(out, range);
                    isNormal(out);
                    out.add(op(Opcode.SELECT));
                }
            }
            emitIf(out, i);
            return;
        }
        List<Catch> catches = st instanceof TryTableInstruction t ? labels.remapCatches(t.catches()) : null;
        labels.enterOriginal();
        List<Instruction> body = arm(st.body(), params);
        labels.exitOriginal();
        if (catches != null) {
            out.add(new TryTableInstruction(st.blockType(), catches, body));
        } else {
            out.add(new BlockInstruction(st.opcode(), st.blockType(), body));
        }
    }

    /** Pushes which arm of an if a rewind takes (not 0: the then arm): the one holding the saved call index. */
    private void rewindArm(List<Instruction> out, int[] range) {
        if (range[2] > range[1]) {
            out.add(i32(1)); // every site is in the then arm
        } else if (range[2] > range[0]) {
            callIndexAtMost(out, range[2] - 1);
        } else {
            out.add(i32(0)); // every site is in the else arm
        }
    }

    /** Emits an if whose condition is on the stack, its arms transformed. */
    private void emitIf(List<Instruction> out, IfInstruction i) {
        List<ValType> params = blockParams(i.blockType());
        labels.enterOriginal();
        List<Instruction> thenArm = arm(i.thenBody(), params);
        List<Instruction> elseArm = arm(i.elseBody(), params);
        labels.exitOriginal();
        out.add(new IfInstruction(i.blockType(), thenArm, elseArm));
    }

    /**
     * A block body: its params move into locals first, then the body is transformed. The entry locals
     * are the body's until it ends: a rewind into the body writes them again, so no temp held across a
     * call inside it may share one.
     */
    private List<Instruction> arm(List<Instruction> body, List<ValType> params) {
        List<Integer> entry = paramLocals.computeIfAbsent(body, k -> temps(params));
        List<Instruction> out = new ArrayList<>();
        popInto(out, entry);
        out.addAll(sequence(body, entry));
        release(entry);
        return out;
    }

    /** Counts the instructions of {@code body}, nested ones included, recording each loop's count. */
    private int measureLoops(List<Instruction> body) {
        int n = 0;
        for (Instruction in : body) {
            n++;
            if (in instanceof StructuredInstruction st) {
                int inner = measureLoops(st.body());
                if (st instanceof IfInstruction i) {
                    inner += measureLoops(i.elseBody());
                }
                if (st.opcode() == Opcode.LOOP) {
                    loopSizes.put(st, inner);
                }
                n += inner;
            }
        }
        return n;
    }

    /**
     * Whether the copy budget still allows splitting this loop (a copy of its body); if so, takes the
     * copy out of it. Outer loops come first (they are met first in program order), so nested loops
     * make at most a budget's worth of copies and not one per nesting level each: once the budget is
     * spent, loops stay in their guarded form, which is complete on its own (slower after a resume).
     */
    private boolean spendCopy(Instruction loop) {
        int cost = loopSizes.getOrDefault(loop, 0);
        if (cost > copyBudget) {
            return false;
        }
        copyBudget -= cost;
        return true;
    }

    /** Loops without params or results are split (see {@link #emitSplitLoop}). */
    private static boolean splittable(Instruction x) {
        return x.opcode() == Opcode.LOOP && ((StructuredInstruction) x).blockType().isEmpty();
    }

    /**
     * A loop in guarded code becomes a copy of its body for the one iteration a rewind resumes, and the
     * loop itself, whose body runs only in normal state and so has no guards:
     * <pre>
     * block $skip
     *   if (state != normal)                          ;; rewinding (into this loop, or past it)
     *     br_if $skip (callIndex not in loop)
     *     guarded body, with "continue" going to the end of this if and "exit" to $skip
     *   end
     *   loop: body with only the unwind checks after calls
     * end
     * </pre>
     * Normal running pays for entering two blocks per loop entry instead of guards on every iteration.
     */
    private void emitSplitLoop(List<Instruction> out, StructuredInstruction loop, int[] range) {
        labels.enterSynthetic();
        int skip = labels.depth() - 1;
        List<Instruction> skipBody = new ArrayList<>();
        skipBody.add(globalGet(abi.stateGlobal()));
        labels.enterOriginal(); // the if: a branch to the loop continues after it, into the loop
        List<Instruction> resume = new ArrayList<>();
        callIndexAtMost(resume, range[1]);
        resume.add(op(Opcode.I32_EQZ));
        resume.add(op(Opcode.BR_IF, labels.toAbsolute(skip)));
        resume.addAll(arm(loop.body(), List.of()));
        resume.add(op(Opcode.BR, labels.toAbsolute(skip)));
        labels.exitOriginal();
        skipBody.add(ifThen(resume));
        labels.enterOriginal();
        boolean outer = normalOnly;
        normalOnly = true;
        List<Instruction> body = arm(loop.body(), List.of());
        normalOnly = outer;
        labels.exitOriginal();
        skipBody.add(new BlockInstruction(Opcode.LOOP, BlockType.EMPTY, body));
        labels.exitSynthetic();
        out.add(BlockInstruction.block(BlockType.EMPTY, skipBody));
    }

    // ------------------------------------------------------------------ frames

    /**
     * Where each saved local lives in a frame: the locals, largest first, then the call index (unique in
     * the module), then the owner trailer if any. The call index thus lies at the same distance below
     * the top of the stack in every frame: a rewind checks it before it pops anything.
     */
    private final class FrameLayout {
        final List<Integer> locals = new ArrayList<>();
        final List<Integer> offsets = new ArrayList<>();
        final int callIndexOffset;
        final int size;

        FrameLayout(List<Integer> saved) {
            int offset = 0;
            for (int width : new int[] {16, 8, 4}) {
                for (int l : saved) {
                    if (slotWidth(localType(l)) == width) {
                        locals.add(l);
                        offsets.add(offset);
                        offset += width;
                    }
                }
            }
            callIndexOffset = offset;
            size = offset + 4 + (abi.ownerTrailers() ? 8 : 0);
        }
    }

    private ValType localType(int l) {
        int params = signature.params().size();
        return l < params ? signature.params().get(l) : f.locals().get(l - params);
    }

    /** Bytes a local takes in a frame; references take an i32 slot index into a reference table. */
    private static int slotWidth(ValType t) {
        return t.isRef() ? 4 : t.byteSize();
    }

    private List<Instruction> rewindPrologue(FrameLayout layout, int frameLocal) {
        int mem = abi.dataMemory();
        List<Instruction> out = new ArrayList<>();
        if (unwindingTailCalls) {
            out.addAll(tailCallDispatch(frameLocal));
        }
        // position -= size; frame = position
        out.add(globalGet(abi.dataGlobal()));
        out.add(globalGet(abi.dataGlobal()));
        out.add(Emit.load(ValType.I32, mem, 0));
        out.add(i32(layout.size));
        out.add(op(Opcode.I32_SUB));
        out.add(localTee(frameLocal));
        out.add(Emit.store(ValType.I32, mem, 0));
        // The frame on top must be this function's: its call index one of ours. Another function's frame
        // means the rewind reached a different callee than the one that unwound (a call_indirect whose
        // table slot changed while suspended): fail before anything of it is restored or run.
        out.add(localGet(frameLocal));
        out.add(Emit.load(ValType.I32, mem, layout.callIndexOffset));
        if (callIndexBase != 0) {
            out.add(i32(callIndexBase));
            out.add(op(Opcode.I32_SUB));
        }
        out.add(localTee(callIndexLocal));
        out.add(i32(callSites));
        out.add(op(Opcode.I32_GE_U));
        out.add(ifThen(fault(AsyncifyAbi.FAULT_FOREIGN_FRAME)));
        for (int i = layout.locals.size() - 1; i >= 0; i--) {
            int l = layout.locals.get(i);
            ValType t = localType(l);
            out.add(localGet(frameLocal));
            if (t.equals(ValType.V128) && abi.v128Load() >= 0) {
                out.add(i32(layout.offsets.get(i)));
                out.add(op(Opcode.I32_ADD));
                out.add(op(Opcode.CALL, abi.v128Load()));
            } else {
                out.add(Emit.load(t.isRef() ? ValType.I32 : t, mem, layout.offsets.get(i)));
            }
            if (t.isRef()) {
                out.addAll(abi.refs().restore(t));
                if (!t.nullable()) {
                    // A non-nullable param (declared locals were made nullable): it was saved non-null.
                    out.add(op(Opcode.REF_AS_NON_NULL));
                }
            }
            out.add(localSet(l));
        }
        return out;
    }

    private List<Instruction> unwindEpilogue(FrameLayout layout, int frameLocal) {
        int mem = abi.dataMemory();
        List<Instruction> out = new ArrayList<>();
        // A call returns normally or unwinding, never still rewinding, unless the callee was not the one
        // whose frame the rewind was to resume (a call_indirect whose slot now holds an uninstrumented
        // function): it ran instead of resuming, and the frame cannot be saved again.
        out.add(globalGet(abi.stateGlobal()));
        out.add(i32(AsyncifyAbi.STATE_REWINDING));
        out.add(op(Opcode.I32_EQ));
        out.add(ifThen(fault(AsyncifyAbi.FAULT_FOREIGN_FRAME)));
        // frame = position; if (frame + size > end) { set up, grow or fault }; position = frame + size
        out.add(globalGet(abi.dataGlobal()));
        out.add(Emit.load(ValType.I32, mem, 0));
        out.add(localSet(frameLocal));
        List<Instruction> overflow = new ArrayList<>();
        if (abi.growableData()) {
            // The transform's own data memory starts zeroed (even when instantiation stopped before
            // data segments were applied): an end of 0 means the stack was never set up, and since no
            // frame fits below an end of 0, that is found here, off the path of every later frame.
            overflow.add(globalGet(abi.dataGlobal()));
            overflow.add(Emit.load(ValType.I32, mem, 4));
            overflow.add(op(Opcode.I32_EQZ));
            overflow.add(ifThen(List.of(
                    globalGet(abi.dataGlobal()), globalGet(abi.dataGlobal()), i32(AsyncifyAbi.SECONDARY_STACK_START),
                    op(Opcode.I32_ADD), Emit.store(ValType.I32, mem, 0),
                    globalGet(abi.dataGlobal()), op(Opcode.MEMORY_SIZE, mem), i32(16), op(Opcode.I32_SHL),
                    Emit.store(ValType.I32, mem, 4),
                    globalGet(abi.dataGlobal()), Emit.load(ValType.I32, mem, 0), localSet(frameLocal))));
            // The stack ends where the data memory ends: grow the memory (doubling it, or by what
            // this frame needs when doubling is refused) and move the end to the new memory end.
            int pages = layout.size / 65536 + 1;
            List<Instruction> moveEnd = List.of(globalGet(abi.dataGlobal()), op(Opcode.MEMORY_SIZE, mem), i32(16),
                    op(Opcode.I32_SHL), Emit.store(ValType.I32, mem, 4));
            List<Instruction> grow = new ArrayList<>();
            grow.add(op(Opcode.MEMORY_SIZE, mem));
            grow.add(op(Opcode.MEMORY_GROW, mem));
            grow.add(i32(-1));
            grow.add(op(Opcode.I32_EQ));
            grow.add(ifThen(List.of(i32(pages), op(Opcode.MEMORY_GROW, mem), op(Opcode.DROP))));
            grow.addAll(moveEnd);
            List<Instruction> full = new ArrayList<>(); // the frame does not fit (in a stack set up now or before)
            full.add(globalGet(abi.dataGlobal()));
            full.add(Emit.load(ValType.I32, mem, 4));
            full.add(op(Opcode.MEMORY_SIZE, mem));
            full.add(i32(16));
            full.add(op(Opcode.I32_SHL));
            full.add(op(Opcode.I32_EQ));
            full.add(ifThen(grow));
            stackExceedsEnd(full, layout, frameLocal);
            // The unwind is abandoned: empty the stack first (no host resets a memory it does not own), or
            // the frames already pushed would stay and every later unwind of this instance would overflow.
            List<Instruction> abandon = new ArrayList<>(List.of(globalGet(abi.dataGlobal()),
                    globalGet(abi.dataGlobal()), i32(AsyncifyAbi.SECONDARY_STACK_START), op(Opcode.I32_ADD),
                    Emit.store(ValType.I32, mem, 0)));
            abandon.addAll(fault(AsyncifyAbi.FAULT_OVERFLOW));
            full.add(ifThen(abandon));
            stackExceedsEnd(overflow, layout, frameLocal);
            overflow.add(ifThen(full));
        } else {
            overflow.addAll(fault(AsyncifyAbi.FAULT_OVERFLOW));
        }
        stackExceedsEnd(out, layout, frameLocal);
        out.add(ifThen(overflow));
        out.add(globalGet(abi.dataGlobal()));
        out.add(localGet(frameLocal));
        out.add(i32(layout.size));
        out.add(op(Opcode.I32_ADD));
        out.add(Emit.store(ValType.I32, mem, 0));
        out.add(localGet(frameLocal));
        out.add(localGet(callIndexLocal));
        if (callIndexBase != 0) {
            out.add(i32(callIndexBase));
            out.add(op(Opcode.I32_ADD));
        }
        out.add(Emit.store(ValType.I32, mem, layout.callIndexOffset));
        if (abi.ownerTrailers()) {
            out.add(localGet(frameLocal));
            out.add(i32(f.typeIndex()));
            out.add(Emit.store(ValType.I32, mem, layout.size - 8));
            out.add(localGet(frameLocal));
            out.add(i32(funcIndex));
            out.add(Emit.store(ValType.I32, mem, layout.size - 4));
        }
        for (int i = 0; i < layout.locals.size(); i++) {
            int l = layout.locals.get(i);
            ValType t = localType(l);
            if (t.isRef()) {
                out.addAll(abi.refs().save(t, l, frameLocal, layout.offsets.get(i), mem));
            } else if (t.equals(ValType.V128) && abi.v128Store() >= 0) {
                out.add(localGet(frameLocal));
                out.add(i32(layout.offsets.get(i)));
                out.add(op(Opcode.I32_ADD));
                out.add(localGet(l));
                out.add(op(Opcode.CALL, abi.v128Store()));
            } else {
                out.add(localGet(frameLocal));
                out.add(localGet(l));
                out.add(Emit.store(t, mem, layout.offsets.get(i)));
            }
        }
        return out;
    }

    /**
     * A rewind re-enters this function, but the frame on top belongs to another function when this
     * one had tail-called it (a tail call replaces the caller, which then saved no frame). The frame's
     * owner trailer names that function and its type: tail-call it again so it rewinds itself.
     */
    private List<Instruction> tailCallDispatch(int scratch) {
        int mem = abi.dataMemory();
        List<Instruction> redirect = new ArrayList<>();
        for (int t : abi.tailCallTargets(signature.results())) {
            List<Instruction> call = new ArrayList<>();
            boolean canPassZeros = true;
            for (ValType p : m.funcType(t).params()) {
                if (p.equals(ValType.V128) && abi.v128Load() >= 0) {
                    call.add(i32(0));
                    call.add(op(Opcode.CALL, abi.v128Load()));
                    continue;
                }
                Instruction zero = Emit.zero(p);
                if (zero == null) {
                    canPassZeros = false; // a non-nullable reference cannot be made up
                    break;
                }
                call.add(zero); // arguments are ignored while rewinding
            }
            if (!canPassZeros) {
                continue;
            }
            call.add(localGet(scratch));
            call.add(Emit.load(ValType.I32, mem, 4)); // the owner's function index
            call.add(op(Opcode.RETURN_CALL_INDIRECT, t, abi.dispatchTable()));
            redirect.add(localGet(scratch));
            redirect.add(Emit.load(ValType.I32, mem, 0)); // the owner's type index
            redirect.add(i32(t));
            redirect.add(op(Opcode.I32_EQ));
            redirect.add(ifThen(call));
        }
        redirect.add(op(Opcode.UNREACHABLE));
        List<Instruction> out = new ArrayList<>();
        // scratch = position - 8: the top frame's trailer {type index, owner function index}.
        out.add(globalGet(abi.dataGlobal()));
        out.add(Emit.load(ValType.I32, mem, 0));
        out.add(i32(8));
        out.add(op(Opcode.I32_SUB));
        out.add(localTee(scratch));
        out.add(Emit.load(ValType.I32, mem, 4));
        out.add(i32(funcIndex));
        out.add(op(Opcode.I32_NE));
        out.add(ifThen(redirect));
        return out;
    }

    private void stackExceedsEnd(List<Instruction> out, FrameLayout layout, int frameLocal) {
        out.add(localGet(frameLocal));
        out.add(i32(layout.size));
        out.add(op(Opcode.I32_ADD));
        out.add(globalGet(abi.dataGlobal()));
        out.add(Emit.load(ValType.I32, abi.dataMemory(), 4));
        out.add(op(Opcode.I32_GT_U));
    }

    private List<Instruction> fault(int kind) {
        List<Instruction> out = new ArrayList<>();
        out.add(i32(funcIndex));
        out.add(Emit.globalSet(abi.faultFunctionGlobal()));
        out.add(i32(kind));
        out.add(Emit.globalSet(abi.faultKindGlobal()));
        out.add(op(Opcode.UNREACHABLE));
        return out;
    }
}
