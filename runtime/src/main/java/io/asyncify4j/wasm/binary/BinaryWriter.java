package io.asyncify4j.wasm.binary;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Writes the primitive encodings of the wasm binary format into a growable buffer. */
public final class BinaryWriter {
    private byte[] buf = new byte[256];
    private int size;

    public int size() {
        return size;
    }

    public byte[] toByteArray() {
        return Arrays.copyOf(buf, size);
    }

    private void ensure(int extra) {
        if (size + extra > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + extra));
        }
    }

    public BinaryWriter u8(int b) {
        ensure(1);
        buf[size++] = (byte) b;
        return this;
    }

    public BinaryWriter bytes(byte[] b) {
        ensure(b.length);
        System.arraycopy(b, 0, buf, size, b.length);
        size += b.length;
        return this;
    }

    public BinaryWriter u32(long v) {
        return unsigned(v & 0xFFFFFFFFL);
    }

    public BinaryWriter u64(long v) {
        return unsigned(v);
    }

    private BinaryWriter unsigned(long v) {
        do {
            int b = (int) (v & 0x7F);
            v >>>= 7;
            u8(v != 0 ? b | 0x80 : b);
        } while (v != 0);
        return this;
    }

    /** Signed LEB128; used for s32, s33 and s64 alike (the value decides the length). */
    public BinaryWriter signed(long v) {
        while (true) {
            int b = (int) (v & 0x7F);
            v >>= 7;
            boolean done = (v == 0 && (b & 0x40) == 0) || (v == -1 && (b & 0x40) != 0);
            u8(done ? b : b | 0x80);
            if (done) {
                return this;
            }
        }
    }

    public BinaryWriter f32Bits(int bits) {
        ensure(4);
        buf[size++] = (byte) bits;
        buf[size++] = (byte) (bits >>> 8);
        buf[size++] = (byte) (bits >>> 16);
        buf[size++] = (byte) (bits >>> 24);
        return this;
    }

    public BinaryWriter f64Bits(long bits) {
        f32Bits((int) bits);
        return f32Bits((int) (bits >>> 32));
    }

    public BinaryWriter name(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        u32(b.length);
        return bytes(b);
    }

    /** Writes {@code content} prefixed by its length, as sections, bodies and sub-sections are. */
    public BinaryWriter sized(BinaryWriter content) {
        u32(content.size);
        ensure(content.size);
        System.arraycopy(content.buf, 0, buf, size, content.size);
        size += content.size;
        return this;
    }
}
