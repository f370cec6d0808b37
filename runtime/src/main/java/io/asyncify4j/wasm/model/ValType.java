package io.asyncify4j.wasm.model;

/**
 * A wasm value type (or a packed storage type of a GC field).
 *
 * <p>Reference types carry a heap type: an abstract one as its negative s33 code (see {@link HeapType})
 * or a concrete type index (&gt;= 0). {@link #UNKNOWN} stands for a value of unknown type in unreachable
 * code, where the operand stack is polymorphic.
 */
public record ValType(Kind kind, boolean nullable, long heapType) {

    public enum Kind { I32, I64, F32, F64, V128, I8, I16, REF, UNKNOWN }

    public static final ValType I32 = new ValType(Kind.I32, false, 0);
    public static final ValType I64 = new ValType(Kind.I64, false, 0);
    public static final ValType F32 = new ValType(Kind.F32, false, 0);
    public static final ValType F64 = new ValType(Kind.F64, false, 0);
    public static final ValType V128 = new ValType(Kind.V128, false, 0);
    public static final ValType PACKED_I8 = new ValType(Kind.I8, false, 0);
    public static final ValType PACKED_I16 = new ValType(Kind.I16, false, 0);
    public static final ValType FUNCREF = ref(true, HeapType.FUNC);
    public static final ValType EXTERNREF = ref(true, HeapType.EXTERN);
    public static final ValType EXNREF = ref(true, HeapType.EXN);
    public static final ValType UNKNOWN = new ValType(Kind.UNKNOWN, false, 0);

    public static ValType ref(boolean nullable, long heapType) {
        return new ValType(Kind.REF, nullable, heapType);
    }

    public boolean isRef() {
        return kind == Kind.REF;
    }

    public boolean isNumeric() {
        return kind == Kind.I32 || kind == Kind.I64 || kind == Kind.F32 || kind == Kind.F64;
    }

    /** The unpacked type a packed field is read as (i8/i16 read as i32). */
    public ValType unpacked() {
        return kind == Kind.I8 || kind == Kind.I16 ? I32 : this;
    }

    /** Size in bytes when stored in linear memory (references: not storable, returns 0). */
    public int byteSize() {
        switch (kind) {
            case I32: case F32: return 4;
            case I64: case F64: return 8;
            case V128: return 16;
            case I8: return 1;
            case I16: return 2;
            default: return 0;
        }
    }

    @Override
    public String toString() {
        switch (kind) {
            case REF:
                return "(ref " + (nullable ? "null " : "") + HeapType.toString(heapType) + ")";
            case UNKNOWN:
                return "<unknown>";
            default:
                return kind.name().toLowerCase();
        }
    }
}
