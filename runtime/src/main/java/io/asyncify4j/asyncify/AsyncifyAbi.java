package io.asyncify4j.asyncify;

/** Names and constants of the asyncify ABI (Binaryen-compatible) and of asyncify4j's additions. */
public final class AsyncifyAbi {
    private AsyncifyAbi() {}

    public static final int STATE_NORMAL = 0;
    public static final int STATE_UNWINDING = 1;
    public static final int STATE_REWINDING = 2;

    public static final String STATE_GLOBAL = "__asyncify_state";
    public static final String DATA_GLOBAL = "__asyncify_data";

    public static final String START_UNWIND = "asyncify_start_unwind";
    public static final String STOP_UNWIND = "asyncify_stop_unwind";
    public static final String START_REWIND = "asyncify_start_rewind";
    public static final String STOP_REWIND = "asyncify_stop_rewind";
    public static final String GET_STATE = "asyncify_get_state";

    /** Module name of the pure-wasm runtime imports ({@code asyncify.start_unwind} ...). */
    public static final String RUNTIME_MODULE = "asyncify";

    /**
     * Exported global holding the index of the function that detected a fault (asyncify stack overflow,
     * or with asserts a state change under an uninstrumented function), -1 when none. The trap that
     * follows is then reported with that function's name.
     */
    public static final String FAULT_FUNCTION_GLOBAL = "asyncify4j_fault_function";
    /**
     * Exported global: 1 = asyncify stack overflow, 2 = state changed under an uninstrumented function,
     * 3 = a rewind reached a function that did not save the frame it was to resume.
     */
    public static final String FAULT_KIND_GLOBAL = "asyncify4j_fault_kind";
    public static final int FAULT_OVERFLOW = 1;
    public static final int FAULT_ASSERT = 2;
    /**
     * A rewind entered a function whose frame is not on top of the asyncify stack, or a call returned
     * still rewinding: the callee differs from the one that unwound (typically a {@code call_indirect}
     * whose table slot was changed while the call was suspended). Reported by the function that found it.
     */
    public static final int FAULT_FOREIGN_FRAME = 3;

    /** Name under which the data memory is exported when the transform adds a secondary memory. */
    public static final String DATA_MEMORY_EXPORT = "asyncify4j_data_memory";

    /** Import name of the shared state global when {@link AsyncifyOptions#importState()} is set. */
    public static final String STATE_IMPORT_MODULE = "asyncify4j";
    public static final String STATE_IMPORT_NAME = "state";

    /** Export name of the start function when {@link AsyncifyOptions#deferStart()} is set. */
    public static final String DEFERRED_START_EXPORT = "asyncify4j_start";

    /**
     * In the secondary data memory, the data structure sits at this address and the asyncify stack
     * starts right after it, reaching to the end of the memory; the first unwind initializes both.
     */
    public static final int SECONDARY_DATA_ADDRESS = 0;
    public static final int SECONDARY_STACK_START = 8;

    /**
     * Export-name prefixes of the tables holding saved references and of their stack-top globals,
     * followed by the hierarchy: {@code func}, {@code extern}, {@code any} or {@code exn}.
     */
    public static final String REF_TABLE_EXPORT_PREFIX = "asyncify4j_refs_";
    public static final String REF_TOP_EXPORT_PREFIX = "asyncify4j_ref_top_";

    /** Host imports saving and restoring a v128 at an address of the data memory (no SIMD needed). */
    public static final String V128_STORE_IMPORT = "v128_store";
    public static final String V128_LOAD_IMPORT = "v128_load";

    /** The fuel counter, an imported mutable i64 global ({@code asyncify4j.fuel}). */
    public static final String FUEL_IMPORT = "fuel";
    /** The import a metered guest calls when its fuel drops below zero ({@code asyncify4j.fuel_exhausted}). */
    public static final String FUEL_EXHAUSTED_IMPORT = "fuel_exhausted";

    /** The import called at each injected suspension point (function entries, loop headers). */
    public static final String SUSPEND_MODULE = "asyncify4j";
    public static final String SUSPEND_IMPORT = "suspend_point";
}
