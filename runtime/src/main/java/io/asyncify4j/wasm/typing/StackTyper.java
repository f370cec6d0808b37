package io.asyncify4j.wasm.typing;

import io.asyncify4j.wasm.ir.BlockType;
import io.asyncify4j.wasm.ir.Catch;
import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import io.asyncify4j.wasm.ir.TryTableInstruction;
import io.asyncify4j.wasm.model.ArrayType;
import io.asyncify4j.wasm.model.CompositeType;
import io.asyncify4j.wasm.model.FieldType;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Function;
import io.asyncify4j.wasm.model.HeapType;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.StructType;
import io.asyncify4j.wasm.model.ValType;
import java.util.ArrayList;
import java.util.List;

/**
 * Computes the type of every operand-stack value at every instruction of a function, including block
 * params/results and unreachable code (where popping past a block's base yields {@link ValType#UNKNOWN}).
 * It assumes a module that validates; inconsistencies it meets raise {@link InvalidModuleException}.
 */
public final class StackTyper {
    private final ModuleModel module;
    private final List<ValType> locals = new ArrayList<>();
    private final FuncType signature;
    private final String functionName;
    private StackState.Value stackTop;
    private final List<Frame> frames = new ArrayList<>();
    private final FunctionTyping result = new FunctionTyping();

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

    private StackTyper(ModuleModel module, int funcIndex) {
        this.module = module;
        Function f = module.definedFunction(funcIndex);
        this.signature = module.funcType(f.typeIndex());
        this.functionName = module.functionDisplayName(funcIndex);
        locals.addAll(signature.params());
        locals.addAll(f.locals());
    }

    /** Types the body of defined function {@code funcIndex} (an index in the function index space). */
    public static FunctionTyping type(ModuleModel module, int funcIndex) {
        StackTyper t = new StackTyper(module, funcIndex);
        Function f = module.definedFunction(funcIndex);
        t.frames.add(new Frame(null, List.of(), t.signature.results(), 0, null));
        t.sequence(f.body());
        return t.result;
    }

    private InvalidModuleException invalid(String what, Instruction at) {
        return new InvalidModuleException("type mismatch in " + functionName + " at " + at + ": " + what);
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

    private void popAll(List<ValType> ts, Instruction at) {
        for (int i = ts.size() - 1; i >= 0; i--) {
            pop(at);
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
        if (depth >= frames.size()) {
            throw invalid("unknown label " + depth, at);
        }
        return frames.get(frames.size() - 1 - (int) depth);
    }

    private List<ValType> blockParams(BlockType bt) {
        return bt.hasTypeIndex() ? module.funcType(bt.typeIndex()).params() : List.of();
    }

    private List<ValType> blockResults(BlockType bt) {
        if (bt.hasTypeIndex()) {
            return module.funcType(bt.typeIndex()).results();
        }
        return bt.result() == null ? List.of() : List.of(bt.result());
    }

    private void sequence(List<Instruction> body) {
        for (Instruction in : body) {
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
        List<ValType> params = blockParams(s.blockType());
        List<ValType> results = blockResults(s.blockType());
        if (s.opcode() == Opcode.IF) {
            pop(s);
        }
        popAll(params, s);
        if (s instanceof TryTableInstruction t) {
            for (Catch c : t.catches()) {
                label(c.label(), s); // checks the label exists
            }
        }
        enter(s.opcode(), params, results);
        sequence(s.body());
        exit(s);
        if (s instanceof IfInstruction i) {
            // The else arm (possibly empty) starts again from the params.
            enter(Opcode.IF, params, results);
            sequence(i.elseBody());
            exit(s);
        }
        pushAll(results);
    }

    private void enter(Opcode op, List<ValType> params, List<ValType> results) {
        frames.add(new Frame(op, params, results, stackSize(), top()));
        pushAll(params);
    }

    private void exit(Instruction at) {
        Frame f = top();
        popAll(f.results, at);
        if (stackSize() != f.height) {
            throw invalid("values remain on the stack at the end of a block", at);
        }
        frames.remove(frames.size() - 1);
    }

    private ValType addressType(int memoryIndex) {
        return module.memoryType(memoryIndex).limits().address64() ? ValType.I64 : ValType.I32;
    }

    private ValType tableIndexType(int tableIndex) {
        return module.tableType(tableIndex).limits().address64() ? ValType.I64 : ValType.I32;
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
        for (int i = colon - 1; i >= 0; i--) {
            pop(in);
        }
        for (int i = colon + 1; i < sig.length(); i++) {
            char c = sig.charAt(i);
            push(c == 'a' ? addressType((int) in.immediate(2)) : letter(c));
        }
    }

    private CompositeType composite(long typeIndex) {
        return module.type((int) typeIndex).composite();
    }

    private FieldType structField(long typeIndex, long field) {
        return ((StructType) composite(typeIndex)).fields().get((int) field);
    }

    private FieldType arrayElement(long typeIndex) {
        return ((ArrayType) composite(typeIndex)).element();
    }

    private void simple(SimpleInstruction in) {
        Opcode op = in.opcode();
        if (!op.stackSignature.equals("*")) {
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
                pop(in);
                List<ValType> types = label(in.immediate(0), in).labelTypes();
                List<ValType> popped = popTypes(types, in);
                pushAll(popped);
                return;
            }
            case BR_TABLE: {
                pop(in);
                popAll(label(in.immediate(in.immediateCount() - 1), in).labelTypes(), in);
                setUnreachable();
                return;
            }
            case RETURN:
                popAll(signature.results(), in);
                setUnreachable();
                return;
            case CALL: {
                FuncType t = module.functionType(in.index());
                popAll(t.params(), in);
                pushAll(t.results());
                return;
            }
            case RETURN_CALL:
                popAll(module.functionType(in.index()).params(), in);
                setUnreachable();
                return;
            case CALL_INDIRECT:
            case RETURN_CALL_INDIRECT: {
                FuncType t = module.funcType((int) in.immediate(0));
                pop(in);
                popAll(t.params(), in);
                if (op == Opcode.CALL_INDIRECT) {
                    pushAll(t.results());
                } else {
                    setUnreachable();
                }
                return;
            }
            case CALL_REF:
            case RETURN_CALL_REF: {
                FuncType t = module.funcType((int) in.immediate(0));
                pop(in);
                popAll(t.params(), in);
                if (op == Opcode.CALL_REF) {
                    pushAll(t.results());
                } else {
                    setUnreachable();
                }
                return;
            }
            case THROW:
                popAll(module.funcType(module.tagTypeIndex(in.index())).params(), in);
                setUnreachable();
                return;
            case THROW_REF:
                pop(in);
                setUnreachable();
                return;
            case DROP:
                pop(in);
                return;
            case SELECT:
            case SELECT_T: {
                pop(in);
                ValType a = pop(in);
                ValType b = pop(in);
                if (op == Opcode.SELECT_T) {
                    push(in.types().get(0));
                } else {
                    push(a.kind() == ValType.Kind.UNKNOWN ? b : a);
                }
                return;
            }
            case LOCAL_GET:
                push(local(in));
                return;
            case LOCAL_SET:
                local(in);
                pop(in);
                return;
            case LOCAL_TEE:
                pop(in);
                push(local(in));
                return;
            case GLOBAL_GET:
                push(module.globalType(in.index()).type());
                return;
            case GLOBAL_SET:
                pop(in);
                return;
            case TABLE_GET:
                pop(in);
                push(module.tableType(in.index()).elementType());
                return;
            case TABLE_SET:
                pop(in);
                pop(in);
                return;
            case TABLE_SIZE:
                push(tableIndexType(in.index()));
                return;
            case TABLE_GROW:
                pop(in);
                pop(in);
                push(tableIndexType(in.index()));
                return;
            case TABLE_FILL:
            case TABLE_COPY:
            case TABLE_INIT:
            case MEMORY_INIT:
            case MEMORY_COPY:
            case MEMORY_FILL:
                pop(in);
                pop(in);
                pop(in);
                return;
            case MEMORY_SIZE:
                push(addressType(in.index()));
                return;
            case MEMORY_GROW:
                pop(in);
                push(addressType(in.index()));
                return;
            case REF_NULL:
                push(ValType.ref(true, in.immediate(0)));
                return;
            case REF_IS_NULL:
                pop(in);
                push(ValType.I32);
                return;
            case REF_FUNC:
                push(ValType.ref(false, module.functionTypeIndex(in.index())));
                return;
            case REF_EQ:
                pop(in);
                pop(in);
                push(ValType.I32);
                return;
            case REF_AS_NON_NULL:
                push(nonNull(pop(in)));
                return;
            case BR_ON_NULL: {
                ValType t = pop(in);
                pushAll(popTypes(label(in.immediate(0), in).labelTypes(), in));
                push(nonNull(t));
                return;
            }
            case BR_ON_NON_NULL: {
                pop(in);
                List<ValType> types = label(in.immediate(0), in).labelTypes();
                pushAll(popTypes(types.subList(0, Math.max(0, types.size() - 1)), in));
                return;
            }
            case BR_ON_CAST:
            case BR_ON_CAST_FAIL: {
                pop(in);
                long flags = in.immediate(0);
                List<ValType> types = label(in.immediate(1), in).labelTypes();
                pushAll(popTypes(types.subList(0, Math.max(0, types.size() - 1)), in));
                // Fall-through type: the source type for br_on_cast (a supertype of what remains),
                // the target type for br_on_cast_fail.
                push(op == Opcode.BR_ON_CAST ? ValType.ref((flags & 1) != 0, in.immediate(2))
                        : ValType.ref((flags & 2) != 0, in.immediate(3)));
                return;
            }
            case STRUCT_NEW: {
                StructType st = (StructType) composite(in.immediate(0));
                for (int i = 0; i < st.fields().size(); i++) {
                    pop(in);
                }
                push(ValType.ref(false, in.immediate(0)));
                return;
            }
            case STRUCT_NEW_DEFAULT:
                push(ValType.ref(false, in.immediate(0)));
                return;
            case STRUCT_GET:
            case STRUCT_GET_S:
            case STRUCT_GET_U:
                pop(in);
                push(structField(in.immediate(0), in.immediate(1)).storage().unpacked());
                return;
            case STRUCT_SET:
                pop(in);
                pop(in);
                return;
            case ARRAY_NEW:
                pop(in);
                pop(in);
                push(ValType.ref(false, in.immediate(0)));
                return;
            case ARRAY_NEW_DEFAULT:
                pop(in);
                push(ValType.ref(false, in.immediate(0)));
                return;
            case ARRAY_NEW_FIXED:
                for (long i = 0; i < in.immediate(1); i++) {
                    pop(in);
                }
                push(ValType.ref(false, in.immediate(0)));
                return;
            case ARRAY_NEW_DATA:
            case ARRAY_NEW_ELEM:
                pop(in);
                pop(in);
                push(ValType.ref(false, in.immediate(0)));
                return;
            case ARRAY_GET:
            case ARRAY_GET_S:
            case ARRAY_GET_U:
                pop(in);
                pop(in);
                push(arrayElement(in.immediate(0)).storage().unpacked());
                return;
            case ARRAY_SET:
                pop(in);
                pop(in);
                pop(in);
                return;
            case ARRAY_LEN:
                pop(in);
                push(ValType.I32);
                return;
            case ARRAY_FILL:
            case ARRAY_INIT_DATA:
            case ARRAY_INIT_ELEM:
                for (int i = 0; i < 4; i++) {
                    pop(in);
                }
                return;
            case ARRAY_COPY:
                for (int i = 0; i < 5; i++) {
                    pop(in);
                }
                return;
            case REF_TEST:
            case REF_TEST_NULL:
                pop(in);
                push(ValType.I32);
                return;
            case REF_CAST:
            case REF_CAST_NULL:
                pop(in);
                push(ValType.ref(op == Opcode.REF_CAST_NULL, in.immediate(0)));
                return;
            case ANY_CONVERT_EXTERN:
            case EXTERN_CONVERT_ANY: {
                ValType t = pop(in);
                boolean nullable = t.kind() == ValType.Kind.UNKNOWN || t.nullable();
                push(ValType.ref(nullable, op == Opcode.ANY_CONVERT_EXTERN ? HeapType.ANY : HeapType.EXTERN));
                return;
            }
            case REF_I31:
                pop(in);
                push(ValType.ref(false, HeapType.I31));
                return;
            case I31_GET_S:
            case I31_GET_U:
                pop(in);
                push(ValType.I32);
                return;
            default:
                throw new IllegalStateException("no typing rule for " + op);
        }
    }

    /** Pops values for {@code types} and returns what was there, keeping known types (subtypes) over the label's. */
    private List<ValType> popTypes(List<ValType> types, Instruction at) {
        ValType[] out = new ValType[types.size()];
        for (int i = types.size() - 1; i >= 0; i--) {
            ValType actual = pop(at);
            out[i] = actual.kind() == ValType.Kind.UNKNOWN ? types.get(i) : actual;
        }
        return List.of(out);
    }

    private static ValType nonNull(ValType t) {
        return t.kind() == ValType.Kind.REF ? ValType.ref(false, t.heapType()) : t;
    }

    private ValType local(SimpleInstruction in) {
        int i = in.index();
        if (i >= locals.size()) {
            throw invalid("unknown local " + i, in);
        }
        return locals.get(i);
    }
}
