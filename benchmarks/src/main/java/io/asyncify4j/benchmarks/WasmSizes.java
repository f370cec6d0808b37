package io.asyncify4j.benchmarks;

/** Section sizes of a wasm binary, read straight from its bytes. */
public final class WasmSizes {
    private static final int CODE_SECTION = 10;

    private WasmSizes() {}

    /** The size in bytes of the code section's contents (0 when there is none). */
    public static long codeSectionSize(byte[] wasm) {
        int[] pos = {8};
        while (pos[0] < wasm.length) {
            int id = wasm[pos[0]++] & 0xff;
            long size = leb(wasm, pos);
            if (id == CODE_SECTION) {
                return size;
            }
            pos[0] += (int) size;
        }
        return 0;
    }

    private static long leb(byte[] b, int[] pos) {
        long result = 0;
        int shift = 0;
        while (true) {
            int x = b[pos[0]++] & 0xff;
            result |= (long) (x & 0x7f) << shift;
            shift += 7;
            if (x < 0x80) {
                return result;
            }
        }
    }
}
