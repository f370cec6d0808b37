package io.asyncify4j.engine;

import io.asyncify4j.wasm.model.HeapType;
import io.asyncify4j.wasm.model.ValType;
import java.util.ArrayList;
import java.util.List;

/** Value types of our module model as the engine's {@code ValType}, for host functions, globals and tables. */
public final class EngineTypes {
    private EngineTypes() {}

    /**
     * The engine's type for {@code t}: numbers, v128, and the abstract nullable {@code funcref} and
     * {@code externref}; {@code null} for other (typed, non-nullable, GC) references, which a host
     * cannot build from the model alone.
     */
    public static run.endive.wasm.types.ValType of(ValType t) {
        switch (t.kind()) {
            case I32: return run.endive.wasm.types.ValType.I32;
            case I64: return run.endive.wasm.types.ValType.I64;
            case F32: return run.endive.wasm.types.ValType.F32;
            case F64: return run.endive.wasm.types.ValType.F64;
            case V128: return run.endive.wasm.types.ValType.V128;
            case REF:
                if (t.nullable() && t.heapType() == HeapType.FUNC) {
                    return run.endive.wasm.types.ValType.FuncRef;
                }
                if (t.nullable() && t.heapType() == HeapType.EXTERN) {
                    return run.endive.wasm.types.ValType.ExternRef;
                }
                return null;
            default:
                return null;
        }
    }

    /** {@link #of} for each type, or {@code null} when one has no engine type here. */
    public static List<run.endive.wasm.types.ValType> of(List<ValType> ts) {
        List<run.endive.wasm.types.ValType> out = new ArrayList<>();
        for (ValType t : ts) {
            run.endive.wasm.types.ValType c = of(t);
            if (c == null) {
                return null;
            }
            out.add(c);
        }
        return out;
    }
}
