package io.asyncify4j.wasm.model;

/** Abstract heap types, as the (negative) values of their s33 encodings; type indices are &gt;= 0. */
public final class HeapType {
    private HeapType() {}

    public static final long NOEXN = 0x74 - 0x80;
    public static final long NOFUNC = 0x73 - 0x80;
    public static final long NOEXTERN = 0x72 - 0x80;
    public static final long NONE = 0x71 - 0x80;
    public static final long FUNC = 0x70 - 0x80;
    public static final long EXTERN = 0x6F - 0x80;
    public static final long ANY = 0x6E - 0x80;
    public static final long EQ = 0x6D - 0x80;
    public static final long I31 = 0x6C - 0x80;
    public static final long STRUCT = 0x6B - 0x80;
    public static final long ARRAY = 0x6A - 0x80;
    public static final long EXN = 0x69 - 0x80;

    /** Whether {@code code} (a single byte) is the encoding of an abstract heap type. */
    public static boolean isAbstractCode(int code) {
        return code >= 0x69 && code <= 0x74;
    }

    public static boolean isAbstract(long heapType) {
        return heapType < 0;
    }

    public static String toString(long ht) {
        if (ht >= 0) {
            return Long.toString(ht);
        }
        switch ((int) (ht + 0x80)) {
            case 0x74: return "noexn";
            case 0x73: return "nofunc";
            case 0x72: return "noextern";
            case 0x71: return "none";
            case 0x70: return "func";
            case 0x6F: return "extern";
            case 0x6E: return "any";
            case 0x6D: return "eq";
            case 0x6C: return "i31";
            case 0x6B: return "struct";
            case 0x6A: return "array";
            case 0x69: return "exn";
            default: return "heaptype(" + ht + ")";
        }
    }
}
