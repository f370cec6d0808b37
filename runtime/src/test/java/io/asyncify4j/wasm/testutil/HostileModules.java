package io.asyncify4j.wasm.testutil;

import io.asyncify4j.wasm.binary.BinaryWriter;

/**
 * Small valid modules that stress the load path, written byte by byte (so building them does not go
 * through the codec under test). Each imports {@code env.sleep: () -> ()} as function 0 and exports its
 * first defined function as {@code main}; type 0 is {@code () -> ()}.
 */
public final class HostileModules {
    private HostileModules() {}

    /** {@code main}: {@code depth} nested loops (each runs once), the innermost calling {@code env.sleep}. */
    public static byte[] nestedLoops(int depth) {
        return nested(depth, 0x03);
    }

    /** {@code main}: {@code depth} nested blocks, the innermost calling {@code env.sleep}. */
    public static byte[] nestedBlocks(int depth) {
        return nested(depth, 0x02);
    }

    private static byte[] nested(int depth, int opcode) {
        BinaryWriter code = new BinaryWriter();
        code.u32(0); // no locals
        for (int i = 0; i < depth; i++) {
            code.u8(opcode).u8(0x40);
        }
        code.u8(0x10).u32(0); // call $sleep
        for (int i = 0; i < depth; i++) {
            code.u8(0x0B);
        }
        code.u8(0x0B);
        return module(new BinaryWriter[] {code});
    }

    /** Functions 1..{@code length}: each calls the next, the last calls {@code env.sleep}; main is function 1. */
    public static byte[] callChain(int length) {
        BinaryWriter[] bodies = new BinaryWriter[length];
        for (int i = 0; i < length; i++) {
            int callee = i == length - 1 ? 0 : i + 2;
            bodies[i] = new BinaryWriter().u32(0).u8(0x10).u32(callee).u8(0x0B);
        }
        return module(bodies);
    }

    /**
     * {@code imports} function imports {@code env.f<i>: () -> ()} (the first is {@code env.sleep}) and
     * main calling each of them {@code callsPerImport} times.
     */
    public static byte[] manyImports(int imports, int callsPerImport) {
        ModuleBytes m = new ModuleBytes();
        m.section(1, s -> s.u32(1).u8(0x60).u32(0).u32(0));
        m.section(2, s -> {
            s.u32(imports);
            for (int i = 0; i < imports; i++) {
                s.name("env").name(i == 0 ? "sleep" : "f" + i).u8(0x00).u32(0);
            }
        });
        m.section(3, s -> s.u32(1).u32(0));
        m.section(7, s -> s.u32(1).name("main").u8(0x00).u32(imports));
        BinaryWriter code = new BinaryWriter().u32(0);
        for (int k = 0; k < callsPerImport; k++) {
            for (int i = 0; i < imports; i++) {
                code.u8(0x10).u32(i);
            }
        }
        code.u8(0x0B);
        m.section(10, s -> s.u32(1).sized(code));
        return m.bytes();
    }

    /** A module with the given function bodies (each: locals vector, code, end), all of type () -> (). */
    public static byte[] module(BinaryWriter[] bodies) {
        ModuleBytes m = new ModuleBytes();
        m.section(1, s -> s.u32(1).u8(0x60).u32(0).u32(0));
        m.section(2, s -> s.u32(1).name("env").name("sleep").u8(0x00).u32(0));
        m.section(3, s -> {
            s.u32(bodies.length);
            for (int i = 0; i < bodies.length; i++) {
                s.u32(0);
            }
        });
        m.section(7, s -> s.u32(1).name("main").u8(0x00).u32(1));
        m.section(10, s -> {
            s.u32(bodies.length);
            for (BinaryWriter b : bodies) {
                s.sized(b);
            }
        });
        return m.bytes();
    }
}
