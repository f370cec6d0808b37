package io.asyncify4j.host;

import run.endive.runtime.ExportFunction;
import run.endive.runtime.GlobalInstance;
import run.endive.runtime.Instance;
import run.endive.runtime.Memory;
import io.asyncify4j.wasm.ir.BlockType;
import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import io.asyncify4j.wasm.model.Export;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Function;
import io.asyncify4j.wasm.model.GlobalType;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.NameSection;
import io.asyncify4j.wasm.model.ValType;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Recognises modules that keep a C shadow stack in linear memory behind a mutable i32 global (clang's
 * {@code __stack_pointer}, global 0 in wasm-ld's output), from the code rather than from names, which
 * an optimised or stripped module does not have.
 *
 * <p>The evidence is what clang emits for a function with a stack frame. Its prologue reads the global,
 * subtracts the frame size (a constant, or a computed size for {@code alloca}), and writes the result
 * back: at -O2 {@code global.get g; i32.const N; i32.sub; local.tee x; global.set g}, at -O0 the same
 * steps through locals. Its epilogue restores the global, to the frame plus its size
 * ({@code local.get x; i32.const N; i32.add; global.set g}) or to the value read at entry. The frame is
 * addressed through the decremented value (loads, stores, addresses passed to callees). A global is the
 * stack pointer when at least one function saves and restores it that way, and some function reaches
 * memory through a frame it carved from it. A global that is only counted up or down, or set, never
 * qualifies.
 *
 * <p>Values are followed through the operand stack and through locals, in program order (blocks, loops
 * and if arms included; the rest of a body after an instruction whose stack effect the analysis does not
 * model, such as GC instructions, is skipped, which can only lose evidence). Names are supporting
 * evidence: among several globals used that way the one named {@code __stack_pointer} wins, and a
 * mutable i32 global exported or named {@code __stack_pointer} counts when no code evidence exists (a
 * false positive only forbids interleaving calls; a false negative lets them corrupt each other).
 */
final class ShadowStack {
    static final String NAME = "__stack_pointer";
    private static final Logger LOG = LoggerFactory.getLogger(ShadowStack.class);

    private ShadowStack() {}

    /**
     * What was found about the stack-pointer global.
     *
     * @param global         its index in the module's global index space (imports first)
     * @param frameFunctions functions that decrement it in a prologue and restore it afterwards
     * @param frameAccesses  loads, stores and call arguments addressing a frame carved from it
     * @param named          whether it is exported or named {@code __stack_pointer}
     */
    record Evidence(int global, int frameFunctions, int frameAccesses, boolean named) {
        /** Whether the code alone identifies the global. */
        boolean fromCode() {
            return frameFunctions > 0 && frameAccesses > 0;
        }
    }

    /** Whether the module keeps a shadow stack behind a global. */
    static boolean detect(ModuleModel m) {
        return stackPointerGlobal(m).isPresent();
    }

    /** The index of the shadow-stack pointer global, or empty when the module keeps no shadow stack. */
    static OptionalInt stackPointerGlobal(ModuleModel m) {
        return analyse(m).map(e -> OptionalInt.of(e.global())).orElse(OptionalInt.empty());
    }

    /** The evidence for the stack-pointer global, or empty when the module keeps no shadow stack. */
    static Optional<Evidence> analyse(ModuleModel m) {
        int globals = m.importCount(ExternalKind.GLOBAL) + m.globals().size();
        boolean[] candidate = new boolean[globals];
        for (int g = 0; g < globals; g++) {
            GlobalType t = m.globalType(g);
            candidate[g] = t.mutable() && t.type().equals(ValType.I32);
        }
        Scan scan = new Scan(m, candidate);
        for (Function f : m.functions()) {
            scan.function(f);
        }
        int[] frameFunctions = scan.frameFunctions;
        int[] frameAccesses = scan.accesses;
        Evidence best = null;
        for (int g = 0; g < globals; g++) {
            if (!candidate[g]) {
                continue;
            }
            Evidence e = new Evidence(g, frameFunctions[g], frameAccesses[g], named(m, g));
            if (e.fromCode() && (best == null || better(e, best))) {
                best = e;
            }
        }
        if (best == null) {
            for (int g = 0; g < globals && best == null; g++) {
                if (candidate[g] && named(m, g)) {
                    best = new Evidence(g, frameFunctions[g], frameAccesses[g], true);
                }
            }
        }
        return Optional.ofNullable(best);
    }

    private static boolean better(Evidence a, Evidence b) {
        if (a.named() != b.named()) {
            return a.named();
        }
        return a.frameFunctions() > b.frameFunctions(); // ties: the lower index, seen first
    }

    /** Whether global {@code g} is exported as, or named in the name section, {@code __stack_pointer}. */
    static boolean named(ModuleModel m, int g) {
        for (Export e : m.exports()) {
            if (e.kind() == ExternalKind.GLOBAL && e.index() == g && e.name().equals(NAME)) {
                return true;
            }
        }
        NameSection names = m.names();
        return names != null && NAME.equals(names.globalNames().get(g));
    }

    // ------------------------------------------------------------------ the code scan

    /** What a value is, relative to the global it came from. */
    private enum Kind {
        /** Anything else. */
        UNKNOWN,
        /** The global's value as read. */
        ENTRY,
        /** The global's value minus something: a frame's base (or an aligned one). */
        BELOW,
        /** A frame's base plus something: an address in the frame, or the value to restore. */
        IN_FRAME
    }

    private record Val(Kind kind, int global) {
        static final Val UNKNOWN = new Val(Kind.UNKNOWN, -1);

        boolean frame() {
            return kind == Kind.BELOW || kind == Kind.IN_FRAME;
        }

        boolean derived() {
            return kind != Kind.UNKNOWN;
        }
    }

    /** Operand-stack effect of each opcode with a fixed signature: pops, or -1 for "*" ones. */
    private static final int[] POPS = new int[Opcode.values().length];
    private static final int[] PUSHES = new int[Opcode.values().length];
    /** Whether the opcode's first operand is a memory address. */
    private static final boolean[] ADDRESSED = new boolean[Opcode.values().length];

    static {
        for (Opcode op : Opcode.values()) {
            String sig = op.stackSignature;
            int colon = sig.indexOf(':');
            POPS[op.ordinal()] = colon;
            PUSHES[op.ordinal()] = colon < 0 ? -1 : sig.length() - colon - 1;
            ADDRESSED[op.ordinal()] = colon > 0 && sig.charAt(0) == 'a';
        }
    }

    /**
     * The scan of all functions of a module: an abstract operand stack per body, the locals' abstract
     * values per function, and the evidence per global.
     */
    private static final class Scan {
        private final ModuleModel m;
        private final boolean[] candidate;
        /** Function types by type index (null: not a function type). */
        private final FuncType[] types;
        /** Type indices by function index. */
        private final int[] functionTypes;
        /** Per global: functions that decremented it in a prologue and restored it afterwards. */
        final int[] frameFunctions;
        /** Per global: loads, stores and call arguments addressing a frame carved from it. */
        final int[] accesses;
        /** Per global: the number of the function that last decremented it (a stamp: nothing to clear). */
        private final int[] decrementedIn;
        private final int[] restoredIn;
        private final Val[][] derived;
        private int stamp;
        private Val[] locals;

        Scan(ModuleModel m, boolean[] candidate) {
            this.m = m;
            this.candidate = candidate;
            List<io.asyncify4j.wasm.model.SubType> all = m.types();
            types = new FuncType[all.size()];
            for (int i = 0; i < types.length; i++) {
                types[i] = all.get(i).composite() instanceof FuncType f ? f : null;
            }
            functionTypes = new int[m.functionCount()];
            int f = 0;
            for (io.asyncify4j.wasm.model.Import i : m.imports()) {
                if (i.kind() == ExternalKind.FUNCTION) {
                    functionTypes[f++] = i.typeIndex();
                }
            }
            for (Function d : m.functions()) {
                functionTypes[f++] = d.typeIndex();
            }
            int n = candidate.length;
            frameFunctions = new int[n];
            accesses = new int[n];
            decrementedIn = new int[n];
            restoredIn = new int[n];
            derived = new Val[n][];
            for (int g = 0; g < n; g++) {
                if (candidate[g]) {
                    derived[g] = new Val[Kind.values().length];
                    for (Kind k : Kind.values()) {
                        derived[g][k.ordinal()] = new Val(k, g);
                    }
                }
            }
        }

        void function(Function f) {
            FuncType t = type(f.typeIndex());
            if (t == null) {
                return; // an invalid module
            }
            stamp++;
            locals = new Val[t.params().size() + f.locals().size()];
            java.util.Arrays.fill(locals, Val.UNKNOWN);
            body(f.body(), new ArrayList<>());
        }

        private Val val(Kind k, int g) {
            return derived[g][k.ordinal()];
        }

        private void body(List<Instruction> code, List<Val> stack) {
            for (Instruction in : code) {
                if (!step(in, stack)) {
                    return; // unreachable from here, or an effect not modelled: the rest tells nothing sure
                }
            }
        }

        private static Val pop(List<Val> stack) {
            return stack.isEmpty() ? Val.UNKNOWN : stack.remove(stack.size() - 1);
        }

        private static void push(List<Val> stack, Val v, int times) {
            for (int i = 0; i < times; i++) {
                stack.add(v);
            }
        }

        private static void popN(List<Val> stack, int n) {
            for (int i = 0; i < n; i++) {
                pop(stack);
            }
        }

        /** A function type by type index, or null when the index names none (an invalid module). */
        private FuncType type(long typeIndex) {
            return typeIndex < 0 || typeIndex >= types.length ? null : types[(int) typeIndex];
        }

        /** Params of a block type, or -1 when its type index names no function type. */
        private int params(BlockType t) {
            if (!t.hasTypeIndex()) {
                return 0;
            }
            FuncType f = type(t.typeIndex());
            return f == null ? -1 : f.params().size();
        }

        private int results(BlockType t) {
            if (t.hasTypeIndex()) {
                return type(t.typeIndex()).results().size();
            }
            return t.result() == null ? 0 : 1;
        }

        private void access(Val address) {
            if (address.frame()) {
                accesses[address.global()]++;
            }
        }

        /**
         * Pops a call's arguments, counting frame addresses passed, and pushes its results; false when
         * the callee's type is unknown (an index out of range in an invalid module).
         */
        private boolean call(List<Val> stack, FuncType type, int extra) {
            if (type == null) {
                return false;
            }
            popN(stack, extra);
            for (int i = 0; i < type.params().size(); i++) {
                access(pop(stack));
            }
            push(stack, Val.UNKNOWN, type.results().size());
            return true;
        }

        private Val local(long index) {
            return index >= 0 && index < locals.length ? locals[(int) index] : null;
        }

        /** Applies one instruction; false when the code after it is unreachable or not modelled. */
        private boolean step(Instruction in, List<Val> stack) {
            if (in instanceof StructuredInstruction s) {
                BlockType t = s.blockType();
                int params = params(t);
                if (params < 0) {
                    return false;
                }
                if (s.opcode() == Opcode.IF) {
                    pop(stack);
                }
                popN(stack, params);
                List<Val> inner = new ArrayList<>();
                push(inner, Val.UNKNOWN, params);
                body(s.body(), inner);
                if (s instanceof IfInstruction i) {
                    List<Val> other = new ArrayList<>();
                    push(other, Val.UNKNOWN, params);
                    body(i.elseBody(), other);
                }
                push(stack, Val.UNKNOWN, results(t));
                return true;
            }
            SimpleInstruction x = (SimpleInstruction) in;
            Opcode op = x.opcode();
            switch (op) {
                case LOCAL_GET -> {
                    Val v = local(x.immediate(0));
                    if (v == null) {
                        return false;
                    }
                    stack.add(v);
                }
                case LOCAL_SET, LOCAL_TEE -> {
                    if (local(x.immediate(0)) == null) {
                        return false;
                    }
                    Val v = pop(stack);
                    locals[x.index()] = v;
                    if (op == Opcode.LOCAL_TEE) {
                        stack.add(v);
                    }
                }
                case GLOBAL_GET -> {
                    long g = x.immediate(0);
                    stack.add(g >= 0 && g < candidate.length && candidate[(int) g] ? val(Kind.ENTRY, (int) g) : Val.UNKNOWN);
                }
                case GLOBAL_SET -> globalSet(x.immediate(0), pop(stack));
                case I32_SUB -> {
                    pop(stack);
                    Val a = pop(stack);
                    stack.add(switch (a.kind()) {
                        case ENTRY, BELOW -> val(Kind.BELOW, a.global());
                        case IN_FRAME -> a;
                        default -> Val.UNKNOWN;
                    });
                }
                case I32_ADD -> {
                    Val b = pop(stack);
                    Val a = pop(stack);
                    Val f = a.frame() ? a : b.frame() ? b : null;
                    stack.add(f == null ? Val.UNKNOWN : val(Kind.IN_FRAME, f.global()));
                }
                case I32_AND -> { // alignment of a frame: global.get g; i32.const -16; i32.and
                    Val b = pop(stack);
                    Val a = pop(stack);
                    Val d = a.derived() ? a : b.derived() ? b : null;
                    stack.add(d == null ? Val.UNKNOWN
                            : d.kind() == Kind.ENTRY ? val(Kind.BELOW, d.global()) : d);
                }
                case CALL -> {
                    long f = x.immediate(0);
                    if (f < 0 || f >= functionTypes.length) {
                        return false;
                    }
                    return call(stack, type(functionTypes[(int) f]), 0);
                }
                case CALL_INDIRECT, CALL_REF -> {
                    return call(stack, type(x.immediate(0)), 1);
                }
                case RETURN_CALL, RETURN_CALL_INDIRECT, RETURN_CALL_REF, BR, BR_TABLE, RETURN, UNREACHABLE,
                        THROW, THROW_REF -> {
                    return false;
                }
                case BR_IF, DROP -> pop(stack);
                case SELECT, SELECT_T -> {
                    popN(stack, 3);
                    stack.add(Val.UNKNOWN);
                }
                case MEMORY_SIZE -> stack.add(Val.UNKNOWN);
                case MEMORY_GROW -> {
                    pop(stack);
                    stack.add(Val.UNKNOWN);
                }
                case MEMORY_FILL, MEMORY_COPY, MEMORY_INIT -> { // destination first
                    popN(stack, 2);
                    access(pop(stack));
                }
                default -> {
                    int pops = POPS[op.ordinal()];
                    if (pops < 0) {
                        return false; // an effect this scan does not model
                    }
                    if (ADDRESSED[op.ordinal()]) { // a load or store: the address comes first
                        int at = stack.size() - pops;
                        access(at >= 0 ? stack.get(at) : Val.UNKNOWN);
                    }
                    popN(stack, pops);
                    push(stack, Val.UNKNOWN, PUSHES[op.ordinal()]);
                }
            }
            return true;
        }

        private void globalSet(long index, Val v) {
            if (index < 0 || index >= candidate.length || !candidate[(int) index] || v.global() != index) {
                return;
            }
            int g = (int) index;
            if (v.kind() == Kind.BELOW) {
                decrementedIn[g] = stamp;
            } else if (decrementedIn[g] == stamp && restoredIn[g] != stamp
                    && (v.kind() == Kind.IN_FRAME || v.kind() == Kind.ENTRY)) {
                restoredIn[g] = stamp;
                frameFunctions[g]++;
            }
        }
    }

    // ------------------------------------------------------------------ a shadow stack per call

    /**
     * A shadow stack of its own for every call, so that calls interleaved on one instance (coroutines
     * suspended in async imports) keep their frames apart. Each call gets a region of the guest's
     * linear memory from the guest's own allocator (an exported {@code malloc}/{@code free} pair, so the
     * guest's heap never hands it out twice); the stack-pointer global points into the region of the
     * call that runs, and holds its usual value (the module's own stack) whenever no call runs.
     *
     * <p>The host calls, on the thread that runs the instance, with no other call of it running:
     * <ul>
     *   <li>{@link #enter()} before a call starts (it calls the guest's malloc, on the module's stack);
     *   <li>{@link #suspend(Stack)} after the call unwound (suspended), {@link #resume(Stack)} before it
     *       rewinds;
     *   <li>{@link #exit(Stack)} after it returned or trapped, or {@link #abandon(Stack)} when a suspended
     *       call is dropped (cancelled, timed out, failed host future): both give the region back.
     * </ul>
     * A region is {@code stackBytes} (rounded up to 16) plus a 16-byte guard at its low end: C code
     * does not check for stack overflow, so the guard is checked at every suspension and at exit, and a
     * call that ran past its region fails with {@link ShadowStackOverflowException} (the guest's heap
     * below may be damaged; the instance should be discarded). Regions are kept for reuse, up to
     * {@link #POOLED}. Not thread-safe, like the instance.
     */
    static final class PerCallStacks {
        /** Regions kept for reuse after their calls ended. */
        static final int POOLED = 16;
        private static final long GUARD = 0x5AFE_57AC_C0FF_EE00L;
        private static final int GUARD_BYTES = 16;

        private final GlobalInstance stackPointer;
        private final int global;
        private final Memory memory;
        private final ExportFunction malloc;
        private final ExportFunction free;
        private final int stackBytes;
        private final Deque<Integer> pool = new ArrayDeque<>();
        private int live;

        /** A call's region and its saved stack pointer. */
        static final class Stack {
            private final int base;
            private final int top;
            /** The call's stack pointer while it is suspended. */
            private int saved;
            /** The stack pointer outside the call, while it runs. */
            private int outer;
            private boolean running;
            private boolean released;

            private Stack(int base, int top) {
                this.base = base;
                this.top = top;
            }

            /** The region's lowest usable address (above the guard). */
            int base() {
                return base + GUARD_BYTES;
            }

            /** The region's end: the call's stack pointer when it starts. */
            int top() {
                return top;
            }
        }

        private PerCallStacks(Instance instance, int global, ExportFunction malloc, ExportFunction free, int stackBytes) {
            this.global = global;
            this.stackPointer = instance.global(global);
            this.memory = instance.memory();
            this.malloc = malloc;
            this.free = free;
            this.stackBytes = stackBytes;
        }

        /**
         * For an instance of {@code model} (the module it was instantiated from, after any transform):
         * the stack pointer is found in the code ({@link ShadowStack#stackPointerGlobal}), the allocator
         * among the exports.
         *
         * @throws IllegalArgumentException when the module keeps no shadow stack, does not export the
         *     allocator functions with types (i32)->i32 and (i32)->(), or {@code stackBytes} is not in
         *     16..2^30
         */
        static PerCallStacks create(Instance instance, ModuleModel model, int stackBytes, String mallocExport,
                                    String freeExport) {
            if (stackBytes < 16 || stackBytes > (1 << 30)) {
                throw new IllegalArgumentException("shadow stack size " + stackBytes + " is not in 16.." + (1 << 30));
            }
            int global = ShadowStack.stackPointerGlobal(model).orElseThrow(() -> new IllegalArgumentException(
                    "the module keeps no shadow stack: no stack-pointer global found"));
            ExportFunction malloc = allocatorExport(instance, model, mallocExport, List.of(ValType.I32), List.of(ValType.I32));
            ExportFunction free = allocatorExport(instance, model, freeExport, List.of(ValType.I32), List.of());
            return new PerCallStacks(instance, global, malloc, free, (stackBytes + 15) & ~15);
        }

        private static ExportFunction allocatorExport(Instance instance, ModuleModel model, String name,
                                                      List<ValType> params, List<ValType> results) {
            for (Export e : model.exports()) {
                if (e.kind() == ExternalKind.FUNCTION && e.name().equals(name)) {
                    FuncType t = model.functionType(e.index());
                    if (!t.params().equals(params) || !t.results().equals(results)) {
                        throw new IllegalArgumentException("export '" + name + "' has type " + t + ", not "
                                + params + " -> " + results);
                    }
                    return instance.export(name);
                }
            }
            throw new IllegalArgumentException("the module exports no function '" + name
                    + "' to allocate per-call shadow stacks with");
        }

        /** The stack-pointer global's index. */
        int stackPointerGlobal() {
            return global;
        }

        /** Regions handed out and not given back yet. */
        int liveStacks() {
            return live;
        }

        /** Regions kept for reuse. */
        int pooledStacks() {
            return pool.size();
        }

        /**
         * Before a call starts: takes a region (pooled, or the guest's malloc) and points the stack
         * pointer at its top.
         *
         * @throws IllegalStateException when the guest's malloc returns 0 (out of memory)
         */
        Stack enter() {
            int base;
            if (!pool.isEmpty()) {
                base = pool.pop();
            } else {
                int bytes = stackBytes + GUARD_BYTES + 15; // malloc aligns to 8 or more; align to 16 here
                int raw = (int) malloc.apply(bytes)[0];
                if (raw == 0) {
                    throw new IllegalStateException("the guest's malloc could not allocate " + bytes
                            + " bytes for a call's shadow stack");
                }
                base = raw;
            }
            int aligned = (base + 15) & ~15;
            Stack s = new Stack(base, aligned + GUARD_BYTES + stackBytes);
            memory.writeLong(s.base() - GUARD_BYTES, GUARD);
            memory.writeLong(s.base() - 8, GUARD);
            live++;
            s.outer = (int) stackPointer.getValue();
            stackPointer.setValue(s.top);
            s.running = true;
            return s;
        }

        /** After the call unwound: keeps its stack pointer, and puts the module's back. */
        void suspend(Stack s) {
            check(s, true);
            checkGuard(s);
            s.saved = (int) stackPointer.getValue();
            stackPointer.setValue(s.outer);
            s.running = false;
        }

        /** Before the call rewinds: points the stack pointer where the call left it. */
        void resume(Stack s) {
            check(s, false);
            s.outer = (int) stackPointer.getValue();
            stackPointer.setValue(s.saved);
            s.running = true;
        }

        /**
         * After the call returned (or trapped): puts the module's stack pointer back and gives the
         * region back.
         *
         * @throws ShadowStackOverflowException when the call wrote past the low end of its region
         */
        void exit(Stack s) {
            check(s, true);
            int sp = (int) stackPointer.getValue();
            stackPointer.setValue(s.outer);
            s.running = false;
            if (sp != s.top) {
                // a trap skips the epilogues; a return with a moved pointer means unbalanced guest code
                LOG.debug("call ended with its shadow stack pointer at {} instead of {}", sp, s.top);
            }
            release(s);
        }

        /** A suspended call is dropped: its region is given back. */
        void abandon(Stack s) {
            check(s, false);
            release(s);
        }

        private void check(Stack s, boolean running) {
            if (s.released) {
                throw new IllegalStateException("shadow stack at " + s.base() + " was already given back");
            }
            if (s.running != running) {
                throw new IllegalStateException("shadow stack at " + s.base() + " belongs to a call that is "
                        + (s.running ? "running" : "suspended"));
            }
        }

        private void checkGuard(Stack s) {
            if (memory.readLong(s.base() - GUARD_BYTES) != GUARD || memory.readLong(s.base() - 8) != GUARD) {
                throw new ShadowStackOverflowException(stackBytes, s.base());
            }
        }

        private void release(Stack s) {
            s.released = true;
            live--;
            boolean intact = memory.readLong(s.base() - GUARD_BYTES) == GUARD && memory.readLong(s.base() - 8) == GUARD;
            if (!intact) {
                throw new ShadowStackOverflowException(stackBytes, s.base()); // not reused, nor freed
            }
            if (pool.size() < POOLED) {
                pool.push(s.base);
            } else {
                free.apply(s.base);
            }
        }
    }

    /** A call's stack frames went past the low end of its per-call shadow stack. */
    static final class ShadowStackOverflowException extends RuntimeException {
        ShadowStackOverflowException(int stackBytes, int base) {
            super("a call overflowed its " + stackBytes + "-byte shadow stack (region from " + base
                    + "): the guest's memory below it may be damaged");
        }
    }
}
