package io.asyncify4j.wasm.testutil;

import io.asyncify4j.wasm.binary.BinaryWriter;
import java.util.function.Consumer;

/** Hand-assembles a wasm binary section by section, remembering offsets for error-position checks. */
public final class ModuleBytes {
    private final BinaryWriter out = new BinaryWriter();

    public ModuleBytes() {
        out.bytes(new byte[] {0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00});
    }

    /** The offset the next section starts at. */
    public int offset() {
        return out.size();
    }

    public ModuleBytes section(int id, Consumer<BinaryWriter> content) {
        BinaryWriter s = new BinaryWriter();
        content.accept(s);
        out.u8(id).sized(s);
        return this;
    }

    public ModuleBytes custom(String name, byte[] content) {
        return section(0, s -> s.name(name).bytes(content));
    }

    /** Raw bytes appended as they are. */
    public ModuleBytes raw(int... bytes) {
        for (int b : bytes) {
            out.u8(b);
        }
        return this;
    }

    /** A type section with {@code () -> (i32)} at index 0 and {@code (i32) -> (i32)} at index 1. */
    public ModuleBytes standardTypes() {
        return section(1, s -> s.u32(2).u8(0x60).u32(0).u32(1).u8(0x7F).u8(0x60).u32(1).u8(0x7F).u32(1).u8(0x7F));
    }

    /** A function section declaring {@code n} functions of type 0 (see {@link #constBodies}). */
    public ModuleBytes constFunctions(int n) {
        section(3, s -> {
            s.u32(n);
            for (int i = 0; i < n; i++) {
                s.u32(0);
            }
        });
        return this;
    }

    /** A code section with {@code n} bodies, body {@code i} returning {@code base + i}. */
    public ModuleBytes constBodies(int n, int base) {
        return section(10, s -> {
            s.u32(n);
            for (int i = 0; i < n; i++) {
                int v = base + i;
                s.sized(new BinaryWriter().u32(0).u8(0x41).signed(v).u8(0x0B));
            }
        });
    }

    public byte[] bytes() {
        return out.toByteArray();
    }
}
