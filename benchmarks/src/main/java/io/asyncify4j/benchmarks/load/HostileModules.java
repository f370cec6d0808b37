package io.asyncify4j.benchmarks.load;

import io.asyncify4j.wasm.binary.BinaryWriter;

/**
 * Synthetic modules for the load benchmark, written byte by byte: each imports {@code env.sleep:
 * () -> ()} as function 0 (the async import) and exports its first defined function as {@code main}.
 * (The runtime's tests have their own copy of these generators.)
 */
public final class HostileModules {
    private HostileModules() {}

    /** {@code depth} nested loops, the innermost calling {@code env.sleep}. */
    public static byte[] nestedLoops(int depth) {
        BinaryWriter code = new BinaryWriter();
        code.u32(0);
        for (int i = 0; i < depth; i++) {
            code.u8(0x03).u8(0x40);
        }
        code.u8(0x10).u32(0);
        for (int i = 0; i < depth; i++) {
            code.u8(0x0B);
        }
        code.u8(0x0B);
        return module(new BinaryWriter[] {code});
    }

    /** {@code length} functions each calling the next, the last calling {@code env.sleep}. */
    public static byte[] callChain(int length) {
        BinaryWriter[] bodies = new BinaryWriter[length];
        for (int i = 0; i < length; i++) {
            int callee = i == length - 1 ? 0 : i + 2;
            bodies[i] = new BinaryWriter().u32(0).u8(0x10).u32(callee).u8(0x0B);
        }
        return module(bodies);
    }

    private static byte[] module(BinaryWriter[] bodies) {
        BinaryWriter out = new BinaryWriter();
        out.bytes(new byte[] {0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00});
        section(out, 1, new BinaryWriter().u32(1).u8(0x60).u32(0).u32(0));
        section(out, 2, new BinaryWriter().u32(1).name("env").name("sleep").u8(0x00).u32(0));
        BinaryWriter funcs = new BinaryWriter().u32(bodies.length);
        for (int i = 0; i < bodies.length; i++) {
            funcs.u32(0);
        }
        section(out, 3, funcs);
        section(out, 7, new BinaryWriter().u32(1).name("main").u8(0x00).u32(1));
        BinaryWriter code = new BinaryWriter().u32(bodies.length);
        for (BinaryWriter b : bodies) {
            code.sized(b);
        }
        section(out, 10, code);
        return out.toByteArray();
    }

    private static void section(BinaryWriter out, int id, BinaryWriter content) {
        out.u8(id).sized(content);
    }
}
