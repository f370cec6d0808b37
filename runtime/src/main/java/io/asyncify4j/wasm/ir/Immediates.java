package io.asyncify4j.wasm.ir;

/**
 * The shape of an instruction's immediates and how they are laid out in
 * {@link SimpleInstruction#immediates()}.
 */
public enum Immediates {
    /** None. */
    NONE,
    /** A block type: structured instructions only. */
    BLOCK,
    /** A block type and catch clauses: {@code try_table} only. */
    TRY_TABLE,
    /** Label depths, the default last. */
    BR_TABLE,
    /** One u32 index (function, local, global, table, memory, label, type, tag, data or element). */
    INDEX,
    /** Two u32 indices in binary order (e.g. type and table of call_indirect). */
    INDEX_INDEX,
    /** {align (log2), offset, memory index}. */
    MEMARG,
    /** {align, offset, memory index, lane}. */
    MEMARG_LANE,
    /** {lane}: a lane index byte. */
    LANE,
    /** {value} as a signed 32-bit integer. */
    I32,
    /** {value}. */
    I64,
    /** {raw IEEE bits}. */
    F32,
    /** {raw IEEE bits}. */
    F64,
    /** {low 8 bytes, high 8 bytes}, little endian: v128.const and the lanes of i8x16.shuffle. */
    V128,
    /** Value types in {@link SimpleInstruction#types()}: typed select. */
    SELECT_TYPES,
    /** {heap type}: ref.null, ref.test, ref.cast. */
    HEAP_TYPE,
    /** {flags, label, source heap type, target heap type}. */
    BR_ON_CAST,
    /** A single zero byte (atomic.fence); nothing is stored. */
    ZERO_BYTE
}
