package io.asyncify4j.engine;

import java.util.List;
import run.endive.runtime.CallResult;
import run.endive.runtime.ExportFunction;
import run.endive.runtime.Instance;
import run.endive.runtime.WasmFunctionHandle;
import run.endive.runtime.WasmExternRef;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;
import run.endive.wasm.types.Value;

/**
 * References as the engine carries them, and a view of them as {@code long} host handles.
 *
 * <p>Endive passes function (and exception) references as {@code long} slots, but externref and GC
 * references as Java objects, beside the {@code long[]} slots: an {@code Object[]} of the same length
 * whose entries at reference positions hold the objects ({@link CallResult}, {@code applyWithRefs}).
 * {@code ExportFunction.apply(long...)} refuses functions with such parameters or results.
 *
 * <p>Callers that speak in numbers (the spec harness's {@code ref.extern N}, the CLI's {@code --invoke})
 * use the handle view: a host handle {@code N} becomes a {@link WasmExternRef} of {@code N} and comes
 * back as {@code N}; {@link #NULL} is the null reference; any other non-null object (a GC value, an
 * externalized GC value) reads as {@link #OPAQUE}.
 */
public final class References {
    private References() {}

    /** A null reference in a {@code long} slot. */
    public static final long NULL = Value.REF_NULL_VALUE;

    /** The handle of a non-null reference that did not come from a host handle. */
    public static final long OPAQUE = 0;

    /** Slots a value of {@code type} takes in a {@code long[]}: two for v128, one otherwise. */
    public static int slots(ValType type) {
        return type.equals(ValType.V128) ? 2 : 1;
    }

    /** Slots the values of {@code types} take. */
    public static int slots(List<ValType> types) {
        int n = 0;
        for (ValType t : types) {
            n += slots(t);
        }
        return n;
    }

    /** Whether values of {@code type} travel as Java objects rather than in a {@code long} slot. */
    public static boolean isObject(ValType type) {
        return type.isObjectRef();
    }

    /** Whether a call of {@code type} has to pass references as objects ({@code applyWithRefs}). */
    public static boolean needsObjects(FunctionType type) {
        return type.hasObjectRefParams() || type.hasObjectRefReturns();
    }

    /** The engine's externref for a host handle ({@code null} for {@link #NULL}). */
    public static Object fromHandle(long handle) {
        return handle == NULL ? null : new WasmExternRef(handle);
    }

    /** The host handle of a reference object: its handle when it came from one, else {@link #OPAQUE}. */
    public static long toHandle(Object ref) {
        if (ref == null) {
            return NULL;
        }
        if (ref instanceof WasmExternRef e && !e.isObjectRef()) {
            return e.value();
        }
        return OPAQUE;
    }

    /** The object slots of {@code args} (values of {@code types}, in the handle view) as objects; null when there are none. */
    public static Object[] objectsFromHandles(List<ValType> types, long[] args) {
        Object[] refs = null;
        int slot = 0;
        for (ValType t : types) {
            if (isObject(t)) {
                if (refs == null) {
                    refs = new Object[args.length];
                }
                refs[slot] = fromHandle(args[slot]);
            }
            slot += slots(t);
        }
        return refs;
    }

    /** A call result in the handle view: every object slot replaced by its handle. */
    public static long[] toHandles(List<ValType> types, CallResult result) {
        int n = slots(types);
        if (n == 0) {
            return null; // as the engine's apply returns for no results
        }
        long[] out = new long[n];
        long[] longs = result == null ? null : result.longs();
        if (longs != null) {
            System.arraycopy(longs, 0, out, 0, Math.min(n, longs.length));
        }
        int slot = 0;
        for (ValType t : types) {
            if (isObject(t)) {
                out[slot] = toHandle(result == null ? null : result.refResult(slot));
            }
            slot += slots(t);
        }
        return out;
    }

    /** Results given in the handle view, as the engine takes them: object slots as objects. */
    public static CallResult fromHandles(List<ValType> types, long[] results) {
        return results == null ? CallResult.of(null, null) : CallResult.of(results, objectsFromHandles(types, results));
    }

    /**
     * A host function of {@code type} written in the handle view: reference arguments reach it as
     * handles ({@link #toHandle}), and the handles it returns for reference results become engine
     * references ({@link #fromHandle}), so a handle it gives out comes back as the same number.
     */
    public static WasmFunctionHandle withHandles(FunctionType type, WasmFunctionHandle handles) {
        return new WasmFunctionHandle() {
            @Override
            public long[] apply(Instance instance, long... args) {
                return handles.apply(instance, args);
            }

            @Override
            public CallResult applyWithRefs(Instance instance, long[] args, Object[] refs) {
                long[] in = args == null ? new long[0] : args.clone();
                int slot = 0;
                for (ValType t : type.params()) {
                    if (isObject(t) && slot < in.length) {
                        in[slot] = toHandle(refs == null ? null : refs[slot]);
                    }
                    slot += slots(t);
                }
                return fromHandles(type.returns(), handles.apply(instance, in));
            }
        };
    }

    /**
     * Export {@code name} of {@code instance} in the handle view: {@code apply(long...)} works for every
     * signature, reference arguments and results given as host handles (the engine's own
     * {@code apply} refuses functions with externref or GC reference parameters or results).
     */
    public static ExportFunction exportWithHandles(Instance instance, String name) {
        ExportFunction f = instance.export(name);
        FunctionType type = instance.exportType(name);
        if (!needsObjects(type)) {
            return f;
        }
        return new ExportFunction() {
            @Override
            public long[] apply(long... args) {
                return toHandles(type.returns(), f.applyWithRefs(args, objectsFromHandles(type.params(), args)));
            }

            @Override
            public CallResult applyWithRefs(long[] args, Object[] refs) {
                return f.applyWithRefs(args, refs);
            }
        };
    }
}
