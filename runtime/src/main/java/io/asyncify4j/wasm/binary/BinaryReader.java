package io.asyncify4j.wasm.binary;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;

/** Reads the primitive encodings of the wasm binary format (LEB128, floats, names) with bounds checks. */
public final class BinaryReader {
    private final byte[] bytes;
    private final int end;
    private int pos;

    public BinaryReader(byte[] bytes) {
        this(bytes, 0, bytes.length);
    }

    public BinaryReader(byte[] bytes, int start, int end) {
        this.bytes = bytes;
        this.pos = start;
        this.end = end;
    }

    public int position() {
        return pos;
    }

    public boolean atEnd() {
        return pos >= end;
    }

    public int end() {
        return end;
    }

    /** A reader over the next {@code length} bytes; this reader skips past them. */
    public BinaryReader slice(int length) {
        requireAvailable(length);
        BinaryReader sub = new BinaryReader(bytes, pos, pos + length);
        pos += length;
        return sub;
    }

    public MalformedModuleException error(String message) {
        return new MalformedModuleException(message, pos);
    }

    private void requireAvailable(long n) {
        if (n < 0 || pos + n > end) {
            throw error("unexpected end of section or function: needed " + n + " more byte(s)");
        }
    }

    public int u8() {
        requireAvailable(1);
        return bytes[pos++] & 0xFF;
    }

    public int peekU8() {
        requireAvailable(1);
        return bytes[pos] & 0xFF;
    }

    public byte[] bytes(long length) {
        requireAvailable(length);
        byte[] out = new byte[(int) length];
        System.arraycopy(bytes, pos, out, 0, (int) length);
        pos += (int) length;
        return out;
    }

    /** Unsigned LEB128 of at most 32 bits, returned as a non-negative long. */
    public long u32() {
        return unsigned(32);
    }

    /** A u32 used as a count or index that must fit a Java int. */
    public int index() {
        long v = u32();
        if (v > Integer.MAX_VALUE) {
            throw error("index or count too large: " + v);
        }
        return (int) v;
    }

    public long u64() {
        return unsigned(64);
    }

    private long unsigned(int bits) {
        int start = pos;
        long result = 0;
        int shift = 0;
        while (true) {
            int b = u8();
            if (shift + 7 > bits && (b & 0x7F) >>> (bits - shift) != 0) {
                pos = start;
                throw error("integer representation too long or too large (u" + bits + ")");
            }
            result |= (long) (b & 0x7F) << shift;
            shift += 7;
            if ((b & 0x80) == 0) {
                return result;
            }
            if (shift >= bits) {
                pos = start;
                throw error("integer representation too long (u" + bits + ")");
            }
        }
    }

    public int s32() {
        return (int) signed(32);
    }

    /** Signed 33-bit LEB128: block types and heap types. */
    public long s33() {
        return signed(33);
    }

    public long s64() {
        return signed(64);
    }

    private long signed(int bits) {
        int start = pos;
        long result = 0;
        int shift = 0;
        int b;
        while (true) {
            b = u8();
            result |= (long) (b & 0x7F) << shift;
            shift += 7;
            if ((b & 0x80) == 0) {
                break;
            }
            if (shift >= bits) {
                pos = start;
                throw error("integer representation too long (s" + bits + ")");
            }
        }
        if (shift > bits) {
            // The unused high bits of the last byte must all equal the sign bit.
            int used = bits - (shift - 7);
            int signAndUnused = (b & 0x7F) >> (used - 1);
            if (signAndUnused != 0 && signAndUnused != (0x7F >> (used - 1))) {
                pos = start;
                throw error("integer too large (s" + bits + ")");
            }
        }
        if (shift < 64 && (b & 0x40) != 0) {
            result |= -1L << shift;
        }
        return result;
    }

    public int f32Bits() {
        requireAvailable(4);
        int v = (bytes[pos] & 0xFF) | (bytes[pos + 1] & 0xFF) << 8 | (bytes[pos + 2] & 0xFF) << 16
                | (bytes[pos + 3] & 0xFF) << 24;
        pos += 4;
        return v;
    }

    public long f64Bits() {
        long lo = f32Bits() & 0xFFFFFFFFL;
        long hi = f32Bits() & 0xFFFFFFFFL;
        return lo | hi << 32;
    }

    public String name() {
        int start = pos;
        byte[] raw = bytes(u32());
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new MalformedModuleException("malformed UTF-8 encoding in name", start);
        }
    }
}
