package io.asyncify4j.asyncify;

import io.asyncify4j.wasm.ir.BlockType;
import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.model.HeapType;
import io.asyncify4j.wasm.model.ValType;
import java.util.List;

/** Small constructors for the instructions the transform generates. */
final class Emit {
    private Emit() {}

    static SimpleInstruction op(Opcode op, long... imm) {
        return SimpleInstruction.of(op, imm);
    }

    static SimpleInstruction i32(int v) {
        return op(Opcode.I32_CONST, v);
    }

    static SimpleInstruction localGet(int i) {
        return op(Opcode.LOCAL_GET, i);
    }

    static SimpleInstruction localSet(int i) {
        return op(Opcode.LOCAL_SET, i);
    }

    static SimpleInstruction localTee(int i) {
        return op(Opcode.LOCAL_TEE, i);
    }

    static SimpleInstruction globalGet(int i) {
        return op(Opcode.GLOBAL_GET, i);
    }

    static SimpleInstruction globalSet(int i) {
        return op(Opcode.GLOBAL_SET, i);
    }

    static IfInstruction ifThen(List<Instruction> then) {
        return new IfInstruction(BlockType.EMPTY, then, List.of());
    }

    /** A load of {@code type} from memory {@code memory} at the address on the stack plus {@code offset}. */
    static SimpleInstruction load(ValType type, int memory, long offset) {
        Opcode op;
        switch (type.kind()) {
            case I32: op = Opcode.I32_LOAD; break;
            case I64: op = Opcode.I64_LOAD; break;
            case F32: op = Opcode.F32_LOAD; break;
            case F64: op = Opcode.F64_LOAD; break;
            case V128: op = Opcode.V128_LOAD; break;
            default: throw new IllegalArgumentException("cannot load " + type);
        }
        return op(op, 0, offset, memory);
    }

    static SimpleInstruction store(ValType type, int memory, long offset) {
        Opcode op;
        switch (type.kind()) {
            case I32: op = Opcode.I32_STORE; break;
            case I64: op = Opcode.I64_STORE; break;
            case F32: op = Opcode.F32_STORE; break;
            case F64: op = Opcode.F64_STORE; break;
            case V128: op = Opcode.V128_STORE; break;
            default: throw new IllegalArgumentException("cannot store " + type);
        }
        return op(op, 0, offset, memory);
    }

    /** A constant of {@code type} (zero, or a null reference); null for non-nullable references. */
    static Instruction zero(ValType type) {
        switch (type.kind()) {
            case I32: return i32(0);
            case I64: return op(Opcode.I64_CONST, 0);
            case F32: return op(Opcode.F32_CONST, 0);
            case F64: return op(Opcode.F64_CONST, 0);
            case V128: return op(Opcode.V128_CONST, 0, 0);
            case REF: return type.nullable() ? op(Opcode.REF_NULL, type.heapType()) : null;
            default: throw new IllegalArgumentException("no zero for " + type);
        }
    }

    /** The type a local holding a value of {@code t} is declared with: references become nullable. */
    static ValType storable(ValType t) {
        return t.isRef() ? ValType.ref(true, t.heapType()) : t;
    }

    /** The abstract top heap type of {@code t}'s hierarchy given whether its concrete type is a function. */
    static long topHeapType(long heapType, boolean concreteIsFunction) {
        if (heapType >= 0) {
            return concreteIsFunction ? HeapType.FUNC : HeapType.ANY;
        }
        if (heapType == HeapType.FUNC || heapType == HeapType.NOFUNC) {
            return HeapType.FUNC;
        }
        if (heapType == HeapType.EXTERN || heapType == HeapType.NOEXTERN) {
            return HeapType.EXTERN;
        }
        if (heapType == HeapType.EXN || heapType == HeapType.NOEXN) {
            return HeapType.EXN;
        }
        return HeapType.ANY;
    }
}
