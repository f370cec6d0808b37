package io.asyncify4j.wasm.typing;

import io.asyncify4j.wasm.ir.BlockType;
import io.asyncify4j.wasm.ir.Catch;
import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Immediates;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import io.asyncify4j.wasm.ir.TryTableInstruction;
import io.asyncify4j.wasm.model.ArrayType;
import io.asyncify4j.wasm.model.CompositeType;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.FieldType;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Function;
import io.asyncify4j.wasm.model.GlobalType;
import io.asyncify4j.wasm.model.HeapType;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.StructType;
import io.asyncify4j.wasm.model.TableType;
import io.asyncify4j.wasm.model.ValType;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Computes the type of every operand-stack value at every instruction of a function, including block
 * params/results and unreachable code (where popping past a block's base yields {@link ValType#UNKNOWN}).
 *
 * <p>{@link #type} assumes a module that validates (the transform's own code); inconsistencies it
 * meets, and indices out of range, raise {@link InvalidModuleException}. {@link #check} is the
 * validating mode: every operand is matched against the type the instruction expects, and every
 * index, label, alignment and lane is checked; failures name the function and the instruction's
 * position (its ordinal in the body, structured instructions counted once, in pre-order from 0).
 */
public final class StackTyper {
    private final ModuleModel module;
    private final Subtyping subtyping;
    /** The checking context in validating mode, or null. */
    private final Context strict;
    private final List<ValType> locals = new ArrayList<>();
    private final List<ValType> returns;
    private final int funcIndex;
    private final String where;
    private StackState.Value stackTop;
    private final List<Frame> frames = new ArrayList<>();
    private final FunctionTyping result = new FunctionTyping();
    private int ordinal = -1;

    /** What validating mode needs beyond the module: declared function references, the data count. */
    public record Context(Subtyping subtyping, BitSet declaredFunctions, boolean dataCount) {}

    private static final class Frame {
        final Opcode opcode;
        final List<ValType> params;
        final List<ValType> results;
        final int height;
        final StackState.FrameStart start;
        boolean unreachable;

        Frame(Opcode opcode, List<ValType> params, List<ValType> results, int height, Frame outer) {
            this.opcode = opcode;
            this.params = params;
            this.results = results;
            this.height = height;
            this.start = new StackState.FrameStart(height, outer == null ? null : outer.start,
                    outer == null ? 1 : outer.start.depth() + 1);
        }

        List<ValType> labelTypes() {
            return opcode == Opcode.LOOP ? params : results;
        }
    }

    private StackTyper(ModuleModel module, int funcIndex, Context strict) {
        this.module = module;
        this.strict = strict;
        this.subtyping = strict != null ? strict.subtyping() : null;
        this.funcIndex = funcIndex;
        if (funcIndex < module.importedFunctionCount() || funcIndex >= module.functionCount()) {
            throw new InvalidModuleException("not a defined function", funcIndex, -1);
        }
        Function f = module.definedFunction(funcIndex);
        FuncType signature = funcTypeOrInvalid(f.typeIndex(), null);
        this.returns = signature.results();
        this.where = "function " + funcIndex + " (" + module.functionDisplayName(funcIndex) + ")";
        locals.addAll(signature.params());
        locals.addAll(f.locals());
    }

    private StackTyper(ModuleModel module, Context strict, String where) {
        this.module = module;
        this.strict = strict;
        this.subtyping = strict.subtyping();
        this.funcIndex = -1;
        this.returns = List.of();
        this.where = where;
    }

    /** Types the body of defined function {@code funcIndex} (an index in the function index space). */
    public static FunctionTyping type(ModuleModel module, int funcIndex) {
        StackTyper t = new StackTyper(module, funcIndex, null);
        t.run(module.definedFunction(funcIndex).body(), t.returns);
        return t.result;
    }

    /** Validates and types the body of defined function {@code funcIndex}. */
    public static FunctionTyping check(ModuleModel module, int funcIndex, Context context) {
        StackTyper t = new StackTyper(module, funcIndex, context);
        t.run(module.definedFunction(funcIndex).body(), t.returns);
        return t.result;
    }

    /**
     * Type-checks a constant expression (the caller checks that it uses only constant instructions)
     * against {@code expected}; {@code where} names it in errors, e.g. "global 2 initializer".
     */
    public static void checkExpression(ModuleModel module, List<Instruction> expr, ValType expected, Context context,
                                       String where) {
        StackTyper t = new StackTyper(module, context, where);
        t.run(expr, List.of(expected));
    }

    private void run(List<Instruction> body, List<ValType> results) {
        frames.add(new Frame(null, List.of(), results, 0, null));
        sequence(body);
        if (strict != null) {
            exit(null);
        }
    }

    private InvalidModuleException invalid(String what, Instruction at) {
        String pos = at == null ? "at the end" : "at instruction " + ordinal + " (" + at.opcode().textName() + ")";
        return new InvalidModuleException(where + " " + pos + ": " + what, funcIndex, at == null ? -1 : ordinal);
    }

    private Frame top() {
        return frames.get(frames.size() - 1);
    }

    private StackState snapshot() {
        Frame f = top();
        // Consecutive points with the same stack share one state (runs of code that leave it as it is).
        if (last == null || last.top != stackTop || last.frame != f || last.unreachable != f.unreachable) {
            last = new Snapshot(stackTop, f, f.unreachable, new StackState(stackTop, f.start, f.unreachable));
        }
        return last.state;
    }

    private record Snapshot(StackState.Value top, Frame frame, boolean unreachable, StackState state) {}

    private Snapshot last;

    private int stackSize() {
        return stackTop == null ? 0 : stackTop.height();
    }

    private void push(ValType t) {
        stackTop = new StackState.Value(t, stackTop, stackSize() + 1);
    }

    private void pushAll(List<ValType> ts) {
        for (ValType t : ts) {
            push(t);
        }
    }

    private ValType removeTop() {
        ValType t = stackTop.type();
        stackTop = stackTop.below();
        return t;
    }

    private ValType pop(Instruction at) {
        Frame f = top();
        if (stackSize() == f.height) {
            if (f.unreachable) {
                return ValType.UNKNOWN;
            }
            throw invalid("operand stack underflow", at);
        }
        return removeTop();
    }

    /** Pops a value that must match {@code expected} (checked in validating mode only). */
    private ValType pop(ValType expected, Instruction at) {
        ValType actual = pop(at);
        if (strict != null && !subtyping.matches(actual, expected)) {
            throw invalid("type mismatch: expected " + expected + ", found " + actual, at);
        }
        return actual;
    }

    /** Pops a value that must be a reference (in validating mode). */
    private ValType popRef(Instruction at) {
        ValType actual = pop(at);
        if (strict != null && actual.kind() != ValType.Kind.UNKNOWN && actual.kind() != ValType.Kind.REF) {
            throw invalid("type mismatch: expected a reference, found " + actual, at);
        }
        return actual;
    }

    private void popAll(List<ValType> ts, Instruction at) {
        for (int i = ts.size() - 1; i >= 0; i--) {
            pop(ts.get(i), at);
        }
    }

    private void setUnreachable() {
        Frame f = top();
        while (stackSize() > f.height) {
            removeTop();
        }
        f.unreachable = true;
    }

    private Frame label(long depth, Instruction at) {
        if (depth < 0 || depth >= frames.size()) {
            throw invalid("unknown label " + depth, at);
        }
        return frames.get(frames.size() - 1 - (int) depth);
    }

    // ---- checked look-ups (typed failures instead of IndexOutOfBounds) ----

    private FuncType funcTypeOrInvalid(long typeIndex, Instruction at) {
        if (typeIndex < 0 || typeIndex >= module.typeCount()) {
            throw at == null && ordinal < 0 ? new InvalidModuleException("unknown type " + typeIndex, funcIndex, -1)
                    : invalid("unknown type " + typeIndex, at);
        }
        CompositeType c = module.type((int) typeIndex).composite();
        if (!(c instanceof FuncType f)) {
            throw at == null && ordinal < 0
                    ? new InvalidModuleException("type " + typeIndex + " is not a function type", funcIndex, -1)
                    : invalid("type " + typeIndex + " is not a function type", at);
        }
        return f;
    }

    private FuncType functionType(long f, Instruction at) {
        if (f < 0 || f >= module.functionCount()) {
            throw invalid("unknown function " + f, at);
        }
        return funcTypeOrInvalid(module.functionTypeIndex((int) f), at);
    }

    private GlobalType global(long g, Instruction at) {
        if (g < 0 || g >= module.importCount(ExternalKind.GLOBAL) + module.globals().size()) {
            throw invalid("unknown global " + g, at);
        }
        return module.globalType((int) g);
    }

    private TableType table(long t, Instruction at) {
        if (t < 0 || t >= module.importCount(ExternalKind.TABLE) + module.tables().size()) {
            throw invalid("unknown table " + t, at);
        }
        return module.tableType((int) t);
    }

    private void memory(long mem, Instruction at) {
        if (mem < 0 || mem >= module.importCount(ExternalKind.MEMORY) + module.memories().size()) {
            throw invalid("unknown memory " + mem, at);
        }
    }

    private ElementInfo element(long e, Instruction at) {
        if (e < 0 || e >= module.elements().size()) {
            throw invalid("unknown elem segment " + e, at);
        }
        return new ElementInfo(module.elements().get((int) e).type());
    }

    private record ElementInfo(ValType type) {}

    private void data(long d, Instruction at) {
        if (strict != null && !strict.dataCount()) {
            throw invalid("data count section required", at);
        }
        if (d < 0 || d >= module.data().size()) {
            throw invalid("unknown data segment " + d, at);
        }
    }

    private FuncType tagType(long tag, Instruction at) {
        if (tag < 0 || tag >= module.importCount(ExternalKind.TAG) + module.tags().size()) {
            throw invalid("unknown tag " + tag, at);
        }
        return funcTypeOrInvalid(module.tagTypeIndex((int) tag), at);
    }

    private List<ValType> blockParams(BlockType bt, Instruction at) {
        return bt.hasTypeIndex() ? funcTypeOrInvalid(bt.typeIndex(), at).params() : List.of();
    }

    private List<ValType> blockResults(BlockType bt, Instruction at) {
        if (bt.hasTypeIndex()) {
            return funcTypeOrInvalid(bt.typeIndex(), at).results();
        }
        return bt.result() == null ? List.of() : List.of(bt.result());
    }

    private void sequence(List<Instruction> body) {
        for (Instruction in : body) {
            ordinal++;
            result.recordBefore(in, snapshot());
            if (in instanceof StructuredInstruction s) {
                structured(s);
            } else {
                simple((SimpleInstruction) in);
            }
        }
        result.recordEnd(body, snapshot());
    }

    private void structured(StructuredInstruction s) {
        if (strict != null && s.blockType().result() != null) {
            checkValType(s.blockType().result(), s);
        }
        List<ValType> params = blockParams(s.blockType(), s);
        List<ValType> results = blockResults(s.blockType(), s);
        if (s.opcode() == Opcode.IF) {
            pop(ValType.I32, s);
        }
        popAll(params, s);
        int at = ordinal;
        if (s instanceof TryTableInstruction t) {
            for (Catch c : t.catches()) {
                Frame target = label(c.label(), s); // checks the label exists
                if (strict != null) {
                    checkCatch(c, target, s);
                }
            }
        }
        enter(s.opcode(), params, results);
        sequence(s.body());
        exit(s, at);
        if (s instanceof IfInstruction i) {
            // The else arm (possibly empty) starts again from the params.
            enter(Opcode.IF, params, results);
            sequence(i.elseBody());
            exit(s, at);
        }
        pushAll(results);
    }

    private void checkCatch(Catch c, Frame target, Instruction at) {
        List<ValType> carried = new ArrayList<>();
        if (c.kind().hasTag()) {
            carried.addAll(tagType(c.tag(), at).params());
        }
        if (c.kind().pushesExnRef()) {
            carried.add(ValType.ref(false, HeapType.EXN));
        }
        List<ValType> want = target.labelTypes();
        if (want.size() != carried.size()) {
            throw invalid("type mismatch: catch clause carries " + carried + " to a label of " + want, at);
        }
        for (int i = 0; i < want.size(); i++) {
            if (!subtyping.matches(carried.get(i), want.get(i))) {
                throw invalid("type mismatch: catch clause carries " + carried + " to a label of " + want, at);
            }
        }
    }

    private void enter(Opcode op, List<ValType> params, List<ValType> results) {
        frames.add(new Frame(op, params, results, stackSize(), top()));
        pushAll(params);
    }

    private void exit(Instruction at, int blockOrdinal) {
        int saved = ordinal;
        ordinal = blockOrdinal;
        try {
            exit(at);
        } finally {
            ordinal = saved;
        }
    }

    private void exit(Instruction at) {
        Frame f = top();
        popAll(f.results, at);
        if (stackSize() != f.height) {
            throw invalid("type mismatch: values remain on the stack at the end of a block", at);
        }
        frames.remove(frames.size() - 1);
    }

    private ValType addressType(long memoryIndex, Instruction at) {
        memory(memoryIndex, at);
        return module.memoryType((int) memoryIndex).limits().address64() ? ValType.I64 : ValType.I32;
    }

    private ValType tableIndexType(long tableIndex, Instruction at) {
        return table(tableIndex, at).limits().address64() ? ValType.I64 : ValType.I32;
    }

    private static ValType letter(char c) {
        switch (c) {
            case 'i': return ValType.I32;
            case 'I': return ValType.I64;
            case 'f': return ValType.F32;
            case 'F': return ValType.F64;
            case 'v': return ValType.V128;
            default: throw new IllegalStateException("signature letter " + c);
        }
    }

    private void fixedSignature(SimpleInstruction in) {
        String sig = in.opcode().stackSignature;
        int colon = sig.indexOf(':');
        ValType address = sig.indexOf('a') >= 0 ? addressType(in.immediate(2), in) : null;
        for (int i = colon - 1; i >= 0; i--) {
            char c = sig.charAt(i);
            pop(c == 'a' ? address : letter(c), in);
        }
        for (int i = colon + 1; i < sig.length(); i++) {
            char c = sig.charAt(i);
            push(c == 'a' ? address : letter(c));
        }
    }

    private static final Pattern ACCESS_BITS = Pattern.compile("(?:LOAD|STORE|RMW|WAIT)(8|16|32|64)");

    /** Natural alignment (bytes) of a memory access. */
    static int naturalAlignment(Opcode op) {
        String name = op.name();
        if (name.equals("V128_LOAD") || name.equals("V128_STORE")) {
            return 16;
        }
        if (name.startsWith("V128_LOAD") && name.contains("x")) {
            return 8;
        }
        if (op == Opcode.MEM_ATOMIC_NOTIFY) {
            return 4;
        }
        Matcher m = ACCESS_BITS.matcher(name);
        if (m.find()) {
            return Integer.parseInt(m.group(1)) / 8;
        }
        return name.startsWith("I64") || name.startsWith("F64") ? 8 : 4;
    }

    private void checkMemarg(SimpleInstruction in) {
        Immediates shape = in.opcode().immediates;
        if (shape != Immediates.MEMARG && shape != Immediates.MEMARG_LANE) {
            return;
        }
        memory(in.immediate(2), in);
        long align = in.immediate(0);
        int natural = naturalAlignment(in.opcode());
        boolean atomic = in.opcode().prefix == 0xFE;
        if (align < 0 || align >= 32 || (1L << align) > natural || (atomic && (1L << align) != natural)) {
            throw invalid(atomic ? "alignment must be equal to natural (" + natural + " bytes)"
                    : "alignment must not be larger than natural (" + natural + " bytes)", in);
        }
        if (!module.memoryType((int) in.immediate(2)).limits().address64() && in.immediate(1) > 0xFFFF_FFFFL) {
            throw invalid("offset out of range for a 32-bit memory", in);
        }
        if (shape == Immediates.MEMARG_LANE && in.immediate(3) >= 16 / natural) {
            throw invalid("invalid lane index " + in.immediate(3), in);
        }
    }

    private void checkLane(SimpleInstruction in) {
        if (in.opcode().immediates == Immediates.LANE) {
            String name = in.opcode().name();
            int lanes = name.startsWith("I8x16") ? 16 : name.startsWith("I16x8") ? 8
                    : name.startsWith("I32x4") || name.startsWith("F32x4") ? 4 : 2;
            if (in.immediate(0) < 0 || in.immediate(0) >= lanes) {
                throw invalid("invalid lane index " + in.immediate(0), in);
            }
        } else if (in.opcode() == Opcode.I8x16_SHUFFLE) {
            for (int w = 0; w < 2; w++) {
                long v = in.immediate(w);
                for (int b = 0; b < 8; b++) {
                    if (((v >>> (8 * b)) & 0xFF) >= 32) {
                        throw invalid("invalid lane index " + ((v >>> (8 * b)) & 0xFF), in);
                    }
                }
            }
        }
    }

    private CompositeType composite(long typeIndex, Instruction at) {
        if (typeIndex < 0 || typeIndex >= module.typeCount()) {
            throw invalid("unknown type " + typeIndex, at);
        }
        return module.type((int) typeIndex).composite();
    }

    private StructType struct(long typeIndex, Instruction at) {
        if (composite(typeIndex, at) instanceof StructType st) {
            return st;
        }
        throw invalid("type " + typeIndex + " is not a struct type", at);
    }

    private FieldType structField(long typeIndex, long field, Instruction at) {
        StructType st = struct(typeIndex, at);
        if (field < 0 || field >= st.fields().size()) {
            throw invalid("unknown field " + field + " of type " + typeIndex, at);
        }
        return st.fields().get((int) field);
    }

    private FieldType arrayElement(long typeIndex, Instruction at) {
        if (composite(typeIndex, at) instanceof ArrayType a) {
            return a.element();
        }
        throw invalid("type " + typeIndex + " is not an array type", at);
    }

    private void checkHeapType(long ht, Instruction at) {
        if (ht >= 0 ? ht >= module.typeCount() : HeapType.toString(ht).startsWith("heaptype(")) {
            throw invalid("unknown type " + HeapType.toString(ht), at);
        }
    }

    private void checkValType(ValType t, Instruction at) {
        if (t.kind() == ValType.Kind.REF) {
            checkHeapType(t.heapType(), at);
        }
    }

    private void simple(SimpleInstruction in) {
        Opcode op = in.opcode();
        if (!op.stackSignature.equals("*")) {
            if (strict != null) {
                checkMemarg(in);
                checkLane(in);
                if (op == Opcode.DATA_DROP) {
                    data(in.index(), in);
                } else if (op == Opcode.ELEM_DROP) {
                    element(in.index(), in);
                }
            }
            fixedSignature(in);
            if (op == Opcode.UNREACHABLE) {
                setUnreachable();
            }
            return;
        }
        switch (op) {
            case BR: {
                popAll(label(in.immediate(0), in).labelTypes(), in);
                setUnreachable();
                return;
            }
            case BR_IF: {
                pop(ValType.I32, in);
                List<ValType> types = label(in.immediate(0), in).labelTypes();
                List<ValType> popped = popTypes(types, in);
                pushAll(popped);
                return;
            }
            case BR_TABLE: {
                pop(ValType.I32, in);
                List<ValType> dflt = label(in.immediate(in.immediateCount() - 1), in).labelTypes();
                for (int i = 0; i < in.immediateCount() - 1; i++) {
                    List<ValType> types = label(in.immediate(i), in).labelTypes();
                    if (strict != null) {
                        if (types.size() != dflt.size()) {
                            throw invalid("type mismatch: br_table targets have different arities", in);
                        }
                        checkTop(types, in);
                    }
                }
                popAll(dflt, in);
                setUnreachable();
                return;
            }
            case RETURN:
                popAll(returns, in);
                setUnreachable();
                return;
            case CALL: {
                FuncType t = functionType(in.index(), in);
                popAll(t.params(), in);
                pushAll(t.results());
                return;
            }
            case RETURN_CALL: {
                FuncType t = functionType(in.index(), in);
                checkTailResults(t, in);
                popAll(t.params(), in);
                setUnreachable();
                return;
            }
            case CALL_INDIRECT:
            case RETURN_CALL_INDIRECT: {
                FuncType t = funcTypeOrInvalid(in.immediate(0), in);
                TableType table = table(in.immediate(1), in);
                if (strict != null && !subtyping.matches(table.elementType(), ValType.FUNCREF)) {
                    throw invalid("type mismatch: call_indirect on a table of " + table.elementType(), in);
                }
                pop(table.limits().address64() ? ValType.I64 : ValType.I32, in);
                popAll(t.params(), in);
                if (op == Opcode.CALL_INDIRECT) {
                    pushAll(t.results());
                } else {
                    checkTailResults(t, in);
                    setUnreachable();
                }
                return;
            }
            case CALL_REF:
            case RETURN_CALL_REF: {
                FuncType t = funcTypeOrInvalid(in.immediate(0), in);
                pop(ValType.ref(true, in.immediate(0)), in);
                popAll(t.params(), in);
                if (op == Opcode.CALL_REF) {
                    pushAll(t.results());
                } else {
                    checkTailResults(t, in);
                    setUnreachable();
                }
                return;
            }
            case THROW: {
                FuncType t = tagType(in.index(), in);
                if (strict != null && !t.results().isEmpty()) {
                    throw invalid("non-empty tag result type", in);
                }
                popAll(t.params(), in);
                setUnreachable();
                return;
            }
            case THROW_REF:
                pop(ValType.EXNREF, in);
                setUnreachable();
                return;
            case DROP:
                pop(in);
                return;
            case SELECT:
            case SELECT_T: {
                pop(ValType.I32, in);
                if (op == Opcode.SELECT_T) {
                    if (in.types().size() != 1) {
                        throw invalid("invalid result arity", in);
                    }
                    ValType t = in.types().get(0);
                    if (strict != null) {
                        checkValType(t, in);
                    }
                    pop(t, in);
                    pop(t, in);
                    push(t);
                    return;
                }
                ValType a = pop(in);
                ValType b = pop(in);
                if (strict != null) {
                    if (a.isRef() || b.isRef()) {
                        throw invalid("type mismatch: select without a type on references", in);
                    }
                    if (a.kind() != ValType.Kind.UNKNOWN && b.kind() != ValType.Kind.UNKNOWN && !a.equals(b)) {
                        throw invalid("type mismatch: select of " + b + " and " + a, in);
                    }
                }
                push(a.kind() == ValType.Kind.UNKNOWN ? b : a);
                return;
            }
            case LOCAL_GET:
                push(local(in));
                return;
            case LOCAL_SET:
                pop(local(in), in);
                return;
            case LOCAL_TEE: {
                ValType t = local(in);
                pop(t, in);
                push(t);
                return;
            }
            case GLOBAL_GET:
                push(global(in.index(), in).type());
                return;
            case GLOBAL_SET: {
                GlobalType g = global(in.index(), in);
                if (strict != null && !g.mutable()) {
                    throw invalid("global is immutable: global " + in.index(), in);
                }
                pop(g.type(), in);
                return;
            }
            case TABLE_GET: {
                TableType t = table(in.index(), in);
                pop(indexType(t), in);
                push(t.elementType());
                return;
            }
            case TABLE_SET: {
                TableType t = table(in.index(), in);
                pop(t.elementType(), in);
                pop(indexType(t), in);
                return;
            }
            case TABLE_SIZE:
                push(tableIndexType(in.index(), in));
                return;
            case TABLE_GROW: {
                TableType t = table(in.index(), in);
                pop(indexType(t), in);
                pop(t.elementType(), in);
                push(indexType(t));
                return;
            }
            case TABLE_FILL: {
                TableType t = table(in.index(), in);
                pop(indexType(t), in);
                pop(t.elementType(), in);
                pop(indexType(t), in);
                return;
            }
            case TABLE_COPY: {
                TableType dst = table(in.immediate(0), in);
                TableType src = table(in.immediate(1), in);
                if (strict != null && !subtyping.matches(src.elementType(), dst.elementType())) {
                    throw invalid("type mismatch: table.copy from " + src.elementType() + " to " + dst.elementType(), in);
                }
                ValType n = indexType(dst).equals(ValType.I32) || indexType(src).equals(ValType.I32)
                        ? ValType.I32 : ValType.I64;
                pop(n, in);
                pop(indexType(src), in);
                pop(indexType(dst), in);
                return;
            }
            case TABLE_INIT: {
                ElementInfo e = element(in.immediate(0), in);
                TableType t = table(in.immediate(1), in);
                if (strict != null && !subtyping.matches(e.type(), t.elementType())) {
                    throw invalid("type mismatch: table.init of " + e.type() + " into " + t.elementType(), in);
                }
                pop(ValType.I32, in);
                pop(ValType.I32, in);
                pop(indexType(t), in);
                return;
            }
            case MEMORY_INIT: {
                data(in.immediate(0), in);
                ValType a = addressType(in.immediate(1), in);
                pop(ValType.I32, in);
                pop(ValType.I32, in);
                pop(a, in);
                return;
            }
            case MEMORY_COPY: {
                ValType dst = addressType(in.immediate(0), in);
                ValType src = addressType(in.immediate(1), in);
                ValType n = dst.equals(ValType.I32) || src.equals(ValType.I32) ? ValType.I32 : ValType.I64;
                pop(n, in);
                pop(src, in);
                pop(dst, in);
                return;
            }
            case MEMORY_FILL: {
                ValType a = addressType(in.immediate(0), in);
                pop(a, in);
                pop(ValType.I32, in);
                pop(a, in);
                return;
            }
            case MEMORY_SIZE:
                push(addressType(in.index(), in));
                return;
            case MEMORY_GROW: {
                ValType a = addressType(in.index(), in);
                pop(a, in);
                push(a);
                return;
            }
            case REF_NULL:
                if (strict != null) {
                    checkHeapType(in.immediate(0), in);
                }
                push(ValType.ref(true, in.immediate(0)));
                return;
            case REF_IS_NULL:
                popRef(in);
                push(ValType.I32);
                return;
            case REF_FUNC: {
                functionType(in.index(), in);
                if (strict != null && strict.declaredFunctions() != null && !strict.declaredFunctions().get(in.index())) {
                    throw invalid("undeclared function reference " + in.index(), in);
                }
                push(ValType.ref(false, module.functionTypeIndex(in.index())));
                return;
            }
            case REF_EQ:
                pop(ValType.ref(true, HeapType.EQ), in);
                pop(ValType.ref(true, HeapType.EQ), in);
                push(ValType.I32);
                return;
            case REF_AS_NON_NULL:
                push(nonNull(popRef(in)));
                return;
            case BR_ON_NULL: {
                ValType t = popRef(in);
                pushAll(popTypes(label(in.immediate(0), in).labelTypes(), in));
                push(nonNull(t));
                return;
            }
            case BR_ON_NON_NULL: {
                ValType t = popRef(in);
                List<ValType> types = label(in.immediate(0), in).labelTypes();
                if (strict != null) {
                    if (types.isEmpty()) {
                        throw invalid("type mismatch: br_on_non_null to a label without values", in);
                    }
                    if (!subtyping.matches(nonNull(t), types.get(types.size() - 1))) {
                        throw invalid("type mismatch: br_on_non_null carries " + nonNull(t) + " to " + types, in);
                    }
                }
                pushAll(popTypes(types.subList(0, Math.max(0, types.size() - 1)), in));
                return;
            }
            case BR_ON_CAST:
            case BR_ON_CAST_FAIL: {
                long flags = in.immediate(0);
                if (strict != null) {
                    checkHeapType(in.immediate(2), in);
                    checkHeapType(in.immediate(3), in);
                }
                pop(ValType.ref((flags & 1) != 0, in.immediate(2)), in);
                List<ValType> types = label(in.immediate(1), in).labelTypes();
                if (strict != null && types.isEmpty()) {
                    throw invalid("type mismatch: " + op.textName() + " to a label without values", in);
                }
                pushAll(popTypes(types.subList(0, Math.max(0, types.size() - 1)), in));
                // Fall-through type: the source type for br_on_cast (a supertype of what remains),
                // the target type for br_on_cast_fail.
                push(op == Opcode.BR_ON_CAST ? ValType.ref((flags & 1) != 0, in.immediate(2))
                        : ValType.ref((flags & 2) != 0, in.immediate(3)));
                return;
            }
            case STRUCT_NEW: {
                StructType st = struct(in.immediate(0), in);
                for (int i = st.fields().size() - 1; i >= 0; i--) {
                    pop(st.fields().get(i).storage().unpacked(), in);
                }
                push(ValType.ref(false, in.immediate(0)));
                return;
            }
            case STRUCT_NEW_DEFAULT:
                struct(in.immediate(0), in);
                push(ValType.ref(false, in.immediate(0)));
                return;
            case STRUCT_GET:
            case STRUCT_GET_S:
            case STRUCT_GET_U: {
                FieldType f = structField(in.immediate(0), in.immediate(1), in);
                pop(ValType.ref(true, in.immediate(0)), in);
                push(f.storage().unpacked());
                return;
            }
            case STRUCT_SET: {
                FieldType f = structField(in.immediate(0), in.immediate(1), in);
                if (strict != null && !f.mutable()) {
                    throw invalid("field is immutable", in);
                }
                pop(f.storage().unpacked(), in);
                pop(ValType.ref(true, in.immediate(0)), in);
                return;
            }
            case ARRAY_NEW: {
                FieldType e = arrayElement(in.immediate(0), in);
                pop(ValType.I32, in);
                pop(e.storage().unpacked(), in);
                push(ValType.ref(false, in.immediate(0)));
                return;
            }
            case ARRAY_NEW_DEFAULT:
                arrayElement(in.immediate(0), in);
                pop(ValType.I32, in);
                push(ValType.ref(false, in.immediate(0)));
                return;
            case ARRAY_NEW_FIXED: {
                FieldType e = arrayElement(in.immediate(0), in);
                for (long i = 0; i < in.immediate(1); i++) {
                    if (stackSize() == top().height && top().unreachable) {
                        break; // the rest are unknown values in unreachable code
                    }
                    pop(e.storage().unpacked(), in);
                }
                push(ValType.ref(false, in.immediate(0)));
                return;
            }
            case ARRAY_NEW_DATA:
            case ARRAY_NEW_ELEM:
                arrayElement(in.immediate(0), in);
                if (op == Opcode.ARRAY_NEW_DATA) {
                    data(in.immediate(1), in);
                } else {
                    element(in.immediate(1), in);
                }
                pop(ValType.I32, in);
                pop(ValType.I32, in);
                push(ValType.ref(false, in.immediate(0)));
                return;
            case ARRAY_GET:
            case ARRAY_GET_S:
            case ARRAY_GET_U: {
                FieldType e = arrayElement(in.immediate(0), in);
                pop(ValType.I32, in);
                pop(ValType.ref(true, in.immediate(0)), in);
                push(e.storage().unpacked());
                return;
            }
            case ARRAY_SET: {
                FieldType e = arrayElement(in.immediate(0), in);
                pop(e.storage().unpacked(), in);
                pop(ValType.I32, in);
                pop(ValType.ref(true, in.immediate(0)), in);
                return;
            }
            case ARRAY_LEN:
                pop(ValType.ref(true, HeapType.ARRAY), in);
                push(ValType.I32);
                return;
            case ARRAY_FILL: {
                FieldType e = arrayElement(in.immediate(0), in);
                pop(ValType.I32, in);
                pop(e.storage().unpacked(), in);
                pop(ValType.I32, in);
                pop(ValType.ref(true, in.immediate(0)), in);
                return;
            }
            case ARRAY_INIT_DATA:
            case ARRAY_INIT_ELEM:
                arrayElement(in.immediate(0), in);
                if (op == Opcode.ARRAY_INIT_DATA) {
                    data(in.immediate(1), in);
                } else {
                    element(in.immediate(1), in);
                }
                pop(ValType.I32, in);
                pop(ValType.I32, in);
                pop(ValType.I32, in);
                pop(ValType.ref(true, in.immediate(0)), in);
                return;
            case ARRAY_COPY:
                arrayElement(in.immediate(0), in);
                arrayElement(in.immediate(1), in);
                pop(ValType.I32, in);
                pop(ValType.I32, in);
                pop(ValType.ref(true, in.immediate(1)), in);
                pop(ValType.I32, in);
                pop(ValType.ref(true, in.immediate(0)), in);
                return;
            case REF_TEST:
            case REF_TEST_NULL:
                if (strict != null) {
                    checkHeapType(in.immediate(0), in);
                }
                popRef(in);
                push(ValType.I32);
                return;
            case REF_CAST:
            case REF_CAST_NULL:
                if (strict != null) {
                    checkHeapType(in.immediate(0), in);
                }
                popRef(in);
                push(ValType.ref(op == Opcode.REF_CAST_NULL, in.immediate(0)));
                return;
            case ANY_CONVERT_EXTERN:
            case EXTERN_CONVERT_ANY: {
                ValType t = pop(ValType.ref(true, op == Opcode.ANY_CONVERT_EXTERN ? HeapType.EXTERN : HeapType.ANY), in);
                boolean nullable = t.kind() == ValType.Kind.UNKNOWN || t.nullable();
                push(ValType.ref(nullable, op == Opcode.ANY_CONVERT_EXTERN ? HeapType.ANY : HeapType.EXTERN));
                return;
            }
            case REF_I31:
                pop(ValType.I32, in);
                push(ValType.ref(false, HeapType.I31));
                return;
            case I31_GET_S:
            case I31_GET_U:
                pop(ValType.ref(true, HeapType.I31), in);
                push(ValType.I32);
                return;
            default:
                throw invalid("no typing rule for " + op, in);
        }
    }

    private static ValType indexType(TableType t) {
        return t.limits().address64() ? ValType.I64 : ValType.I32;
    }

    private void checkTailResults(FuncType callee, Instruction at) {
        if (strict == null) {
            return;
        }
        if (callee.results().size() != returns.size()) {
            throw invalid("type mismatch: tail call results " + callee.results() + " differ from " + returns, at);
        }
        for (int i = 0; i < returns.size(); i++) {
            if (!subtyping.matches(callee.results().get(i), returns.get(i))) {
                throw invalid("type mismatch: tail call results " + callee.results() + " differ from " + returns, at);
            }
        }
    }

    /** Checks (without popping) that the top of the stack matches {@code types}. */
    private void checkTop(List<ValType> types, Instruction at) {
        Frame f = top();
        int size = stackSize();
        StackState.Value v = stackTop;
        for (int k = 0; k < types.size(); k++) {
            int pos = size - 1 - k;
            ValType want = types.get(types.size() - 1 - k);
            if (pos < f.height) {
                if (f.unreachable) {
                    continue;
                }
                throw invalid("operand stack underflow", at);
            }
            if (!subtyping.matches(v.type(), want)) {
                throw invalid("type mismatch: expected " + want + ", found " + v.type(), at);
            }
            v = v.below();
        }
    }

    /** Pops values for {@code types} and returns what was there, keeping known types (subtypes) over the label's. */
    private List<ValType> popTypes(List<ValType> types, Instruction at) {
        ValType[] out = new ValType[types.size()];
        for (int i = types.size() - 1; i >= 0; i--) {
            ValType actual = pop(types.get(i), at);
            out[i] = actual.kind() == ValType.Kind.UNKNOWN ? types.get(i) : actual;
        }
        return List.of(out);
    }

    private static ValType nonNull(ValType t) {
        return t.kind() == ValType.Kind.REF ? ValType.ref(false, t.heapType()) : t;
    }

    private ValType local(SimpleInstruction in) {
        int i = in.index();
        if (i < 0 || i >= locals.size()) {
            throw invalid("unknown local " + in.immediate(0), in);
        }
        return locals.get(i);
    }
}
