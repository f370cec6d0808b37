package io.asyncify4j.wasm.typing;

import io.asyncify4j.wasm.model.ArrayType;
import io.asyncify4j.wasm.model.CompositeType;
import io.asyncify4j.wasm.model.FieldType;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.HeapType;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.RecGroup;
import io.asyncify4j.wasm.model.StructType;
import io.asyncify4j.wasm.model.SubType;
import io.asyncify4j.wasm.model.ValType;
import java.util.List;

/**
 * Value-type matching of a module: numeric types match only themselves, reference types follow the
 * heap-type hierarchies (func, extern, any with eq/i31/struct/array, exn; their bottoms), declared
 * supertypes, and iso-recursive equivalence of concrete types (same shape, same position in
 * structurally equal recursion groups). Type indices out of range match nothing.
 */
public final class Subtyping {
    private final ModuleModel module;
    private final List<SubType> types;
    private final int[] groupStart;
    private final int[] groupSize;

    public Subtyping(ModuleModel module) {
        this.module = module;
        this.types = module.types();
        this.groupStart = new int[types.size()];
        this.groupSize = new int[types.size()];
        int at = 0;
        for (RecGroup g : module.recGroups()) {
            for (int i = 0; i < g.types().size(); i++) {
                groupStart[at + i] = at;
                groupSize[at + i] = g.types().size();
            }
            at += g.types().size();
        }
    }

    public ModuleModel module() {
        return module;
    }

    /** Whether a value of type {@code a} may be used where {@code b} is expected; unknown matches everything. */
    public boolean matches(ValType a, ValType b) {
        if (a.kind() == ValType.Kind.UNKNOWN || b.kind() == ValType.Kind.UNKNOWN) {
            return true;
        }
        if (a.kind() != ValType.Kind.REF || b.kind() != ValType.Kind.REF) {
            return a.kind() == b.kind();
        }
        if (a.nullable() && !b.nullable()) {
            return false;
        }
        return heapMatches(a.heapType(), b.heapType());
    }

    /** Whether a concrete or abstract heap type is valid here (a type index must be in range). */
    public boolean validHeapType(long ht) {
        return ht < 0 ? HeapType.toString(ht).indexOf('(') < 0 : ht < types.size();
    }

    /** The composite type behind a concrete heap type, or null when out of range or abstract. */
    public CompositeType composite(long ht) {
        return ht >= 0 && ht < types.size() ? types.get((int) ht).composite() : null;
    }

    /** The top heap type of {@code ht}'s hierarchy (FUNC, EXTERN, ANY or EXN), or 0 when unknown. */
    public long top(long ht) {
        if (ht >= 0) {
            CompositeType c = composite(ht);
            return c == null ? 0 : c instanceof FuncType ? HeapType.FUNC : HeapType.ANY;
        }
        if (ht == HeapType.FUNC || ht == HeapType.NOFUNC) {
            return HeapType.FUNC;
        }
        if (ht == HeapType.EXTERN || ht == HeapType.NOEXTERN) {
            return HeapType.EXTERN;
        }
        if (ht == HeapType.EXN || ht == HeapType.NOEXN) {
            return HeapType.EXN;
        }
        if (ht == HeapType.ANY || ht == HeapType.EQ || ht == HeapType.I31 || ht == HeapType.STRUCT
                || ht == HeapType.ARRAY || ht == HeapType.NONE) {
            return HeapType.ANY;
        }
        return 0;
    }

    private static long bottom(long top) {
        if (top == HeapType.FUNC) {
            return HeapType.NOFUNC;
        }
        if (top == HeapType.EXTERN) {
            return HeapType.NOEXTERN;
        }
        if (top == HeapType.EXN) {
            return HeapType.NOEXN;
        }
        return HeapType.NONE;
    }

    public boolean heapMatches(long x, long y) {
        if (x == y) {
            return x >= 0 ? x < types.size() : true;
        }
        long tx = top(x);
        long ty = top(y);
        if (tx == 0 || tx != ty) {
            return false;
        }
        if (x == bottom(tx)) {
            return true;
        }
        if (y < 0) {
            if (y == ty) {
                return true;
            }
            CompositeType c = composite(x);
            if (y == HeapType.EQ) {
                return x == HeapType.I31 || x == HeapType.STRUCT || x == HeapType.ARRAY
                        || c instanceof StructType || c instanceof ArrayType;
            }
            if (y == HeapType.STRUCT) {
                return c instanceof StructType;
            }
            if (y == HeapType.ARRAY) {
                return c instanceof ArrayType;
            }
            return false;
        }
        if (x < 0) {
            return false;
        }
        return concreteMatches((int) x, (int) y, 0);
    }

    private boolean concreteMatches(int x, int y, int depth) {
        int seen = 0;
        for (int t = x; seen <= types.size(); seen++) {
            if (t == y || equivalent(t, y, depth)) {
                return true;
            }
            List<Integer> supers = types.get(t).supertypes();
            if (supers.isEmpty() || supers.get(0) < 0 || supers.get(0) >= types.size()) {
                return false;
            }
            t = supers.get(0);
        }
        return false;
    }

    /** Iso-recursive equivalence: same position in recursion groups that are equal up to their own indices. */
    public boolean equivalent(int x, int y, int depth) {
        if (x == y) {
            return true;
        }
        if (depth > 8 || groupSize[x] != groupSize[y] || x - groupStart[x] != y - groupStart[y]) {
            return false;
        }
        int gx = groupStart[x];
        int gy = groupStart[y];
        for (int i = 0; i < groupSize[x]; i++) {
            if (!sameSubType(types.get(gx + i), types.get(gy + i), gx, gy, groupSize[x], depth + 1)) {
                return false;
            }
        }
        return true;
    }

    private boolean sameSubType(SubType a, SubType b, int gx, int gy, int n, int depth) {
        if (a.isFinal() != b.isFinal() || a.supertypes().size() != b.supertypes().size()) {
            return false;
        }
        for (int i = 0; i < a.supertypes().size(); i++) {
            if (!sameIndex(a.supertypes().get(i), b.supertypes().get(i), gx, gy, n, depth)) {
                return false;
            }
        }
        CompositeType ca = a.composite();
        CompositeType cb = b.composite();
        if (ca instanceof FuncType fa && cb instanceof FuncType fb) {
            return sameTypes(fa.params(), fb.params(), gx, gy, n, depth)
                    && sameTypes(fa.results(), fb.results(), gx, gy, n, depth);
        }
        if (ca instanceof StructType sa && cb instanceof StructType sb) {
            if (sa.fields().size() != sb.fields().size()) {
                return false;
            }
            for (int i = 0; i < sa.fields().size(); i++) {
                if (!sameField(sa.fields().get(i), sb.fields().get(i), gx, gy, n, depth)) {
                    return false;
                }
            }
            return true;
        }
        if (ca instanceof ArrayType aa && cb instanceof ArrayType ab) {
            return sameField(aa.element(), ab.element(), gx, gy, n, depth);
        }
        return false;
    }

    private boolean sameField(FieldType a, FieldType b, int gx, int gy, int n, int depth) {
        return a.mutable() == b.mutable() && sameType(a.storage(), b.storage(), gx, gy, n, depth);
    }

    private boolean sameTypes(List<ValType> a, List<ValType> b, int gx, int gy, int n, int depth) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (!sameType(a.get(i), b.get(i), gx, gy, n, depth)) {
                return false;
            }
        }
        return true;
    }

    private boolean sameType(ValType a, ValType b, int gx, int gy, int n, int depth) {
        if (a.kind() != b.kind()) {
            return false;
        }
        if (a.kind() != ValType.Kind.REF) {
            return true;
        }
        if (a.nullable() != b.nullable()) {
            return false;
        }
        long ha = a.heapType();
        long hb = b.heapType();
        if (ha < 0 || hb < 0) {
            return ha == hb;
        }
        return sameIndex((int) Math.min(ha, Integer.MAX_VALUE), (int) Math.min(hb, Integer.MAX_VALUE), gx, gy, n, depth);
    }

    private boolean sameIndex(int a, int b, int gx, int gy, int n, int depth) {
        boolean inA = a >= gx && a < gx + n;
        boolean inB = b >= gy && b < gy + n;
        if (inA || inB) {
            return inA && inB && a - gx == b - gy;
        }
        if (a < 0 || b < 0 || a >= types.size() || b >= types.size()) {
            return false;
        }
        return equivalent(a, b, depth);
    }
}
