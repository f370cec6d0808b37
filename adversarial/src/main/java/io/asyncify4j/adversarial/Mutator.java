package io.asyncify4j.adversarial;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Seeded, deterministic mutations of wasm binaries: bit flips, interesting bytes, LEB128 rewrites
 * (values at the edges of u32/s32, over-long encodings), section swaps, duplications and deletions,
 * truncation, byte-range insertion and deletion, opcode bytes planted in the code section, and
 * splices from another module. The same seed and input always give the same mutant.
 */
public final class Mutator {
    private static final int[] INTERESTING = {0x00, 0x01, 0x02, 0x0B, 0x40, 0x41, 0x7F, 0x80, 0xFF, 0x70, 0x6F,
            0x10, 0x11, 0x20, 0x21, 0x23, 0x24, 0x05, 0x0C, 0x0D, 0x0E, 0xFC, 0xFD, 0xFB, 0xD2, 0xD0};
    private static final long[] INTERESTING_LEB = {0, 1, 2, 63, 64, 127, 128, 255, 0x7FFF_FFFFL, 0x8000_0000L,
            0xFFFF_FFFFL, 65536, 65537, 1000, 100_000_000};

    /** The kinds of mutation, for reports. */
    public enum Kind { BIT_FLIP, BYTE, LEB, SECTION_SWAP, SECTION_DUP, SECTION_DROP, TRUNCATE, INSERT, DELETE, CODE_OPCODE, SPLICE }

    /** A top-level section: where its id byte starts and where its payload ends. */
    record Section(int id, int start, int end) {}

    private Mutator() {}

    /** Applies 1 to 3 random mutations to {@code seed} (never modified) and returns the mutant. */
    public static byte[] mutate(byte[] seed, byte[] other, SplittableRandom random, List<Kind> applied) {
        byte[] b = seed.clone();
        int n = 1 + random.nextInt(3);
        for (int i = 0; i < n; i++) {
            Kind k = Kind.values()[random.nextInt(Kind.values().length)];
            b = apply(k, b, other, random);
            applied.add(k);
        }
        return b;
    }

    static byte[] apply(Kind k, byte[] b, byte[] other, SplittableRandom r) {
        if (b.length <= 8 && k != Kind.INSERT && k != Kind.SPLICE) {
            return b;
        }
        switch (k) {
            case BIT_FLIP: {
                int at = 8 + r.nextInt(b.length - 8);
                b[at] ^= (byte) (1 << r.nextInt(8));
                return b;
            }
            case BYTE: {
                int at = 8 + r.nextInt(b.length - 8);
                b[at] = (byte) INTERESTING[r.nextInt(INTERESTING.length)];
                return b;
            }
            case LEB: {
                int at = 8 + r.nextInt(b.length - 8);
                int len = lebLength(b, at);
                long v = r.nextInt(4) == 0 ? readLeb(b, at) + (r.nextBoolean() ? 1 : -1)
                        : INTERESTING_LEB[r.nextInt(INTERESTING_LEB.length)];
                byte[] enc = leb(v & 0xFFFF_FFFFL, r.nextInt(5) == 0 ? 5 : 0);
                return replace(b, at, len, enc);
            }
            case SECTION_SWAP: {
                List<Section> s = sections(b);
                if (s.size() < 2) {
                    return b;
                }
                int i = r.nextInt(s.size() - 1);
                Section x = s.get(i);
                Section y = s.get(i + 1);
                byte[] out = b.clone();
                int yl = y.end - y.start;
                System.arraycopy(b, y.start, out, x.start, yl);
                System.arraycopy(b, x.start, out, x.start + yl, x.end - x.start);
                return out;
            }
            case SECTION_DUP: {
                List<Section> s = sections(b);
                if (s.isEmpty()) {
                    return b;
                }
                Section x = s.get(r.nextInt(s.size()));
                return replace(b, x.end, 0, Arrays.copyOfRange(b, x.start, x.end));
            }
            case SECTION_DROP: {
                List<Section> s = sections(b);
                if (s.isEmpty()) {
                    return b;
                }
                Section x = s.get(r.nextInt(s.size()));
                return replace(b, x.start, x.end - x.start, new byte[0]);
            }
            case TRUNCATE:
                return Arrays.copyOf(b, 8 + r.nextInt(b.length - 8));
            case INSERT: {
                int at = 8 + (b.length > 8 ? r.nextInt(b.length - 7) : 0);
                byte[] ins = new byte[1 + r.nextInt(8)];
                for (int i = 0; i < ins.length; i++) {
                    ins[i] = (byte) (r.nextBoolean() ? INTERESTING[r.nextInt(INTERESTING.length)] : r.nextInt(256));
                }
                return replace(b, Math.min(at, b.length), 0, ins);
            }
            case DELETE: {
                int at = 8 + r.nextInt(b.length - 8);
                int len = Math.min(b.length - at, 1 + r.nextInt(16));
                return replace(b, at, len, new byte[0]);
            }
            case CODE_OPCODE: {
                for (Section s : sections(b)) {
                    if (s.id == 10 && s.end - s.start > 8) {
                        int at = s.start + 4 + r.nextInt(s.end - s.start - 4);
                        b[at] = (byte) (r.nextInt(3) == 0 ? INTERESTING[r.nextInt(INTERESTING.length)] : r.nextInt(0xD5));
                        return b;
                    }
                }
                return apply(Kind.BYTE, b, other, r);
            }
            case SPLICE: {
                if (other == null || other.length <= 8 || b.length < 8) {
                    return b;
                }
                int from = 8 + r.nextInt(other.length - 8);
                int len = Math.min(other.length - from, 1 + r.nextInt(64));
                int at = 8 + r.nextInt(b.length - 7);
                return replace(b, Math.min(at, b.length), r.nextBoolean() ? Math.min(len, b.length - Math.min(at, b.length)) : 0,
                        Arrays.copyOfRange(other, from, from + len));
            }
            default:
                return b;
        }
    }

    static byte[] replace(byte[] b, int at, int len, byte[] with) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(b.length + with.length);
        out.write(b, 0, at);
        out.write(with, 0, with.length);
        out.write(b, at + len, b.length - at - len);
        return out.toByteArray();
    }

    static int lebLength(byte[] b, int at) {
        int i = at;
        while (i < b.length && i - at < 10 && (b[i] & 0x80) != 0) {
            i++;
        }
        return Math.min(b.length, i + 1) - at;
    }

    static long readLeb(byte[] b, int at) {
        long v = 0;
        int shift = 0;
        for (int i = at; i < b.length && shift < 63; i++, shift += 7) {
            v |= (long) (b[i] & 0x7F) << shift;
            if ((b[i] & 0x80) == 0) {
                break;
            }
        }
        return v;
    }

    /** Unsigned LEB128 of {@code v}, padded to {@code minBytes} bytes (an over-long but valid encoding). */
    static byte[] leb(long v, int minBytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int n = 0;
        do {
            int bits = (int) (v & 0x7F);
            v >>>= 7;
            n++;
            boolean more = v != 0 || n < minBytes;
            out.write(more ? bits | 0x80 : bits);
            if (!more) {
                break;
            }
        } while (true);
        return out.toByteArray();
    }

    /** The top-level sections of a binary, as far as they parse. */
    static List<Section> sections(byte[] b) {
        List<Section> out = new ArrayList<>();
        int p = 8;
        while (p < b.length) {
            int start = p;
            int id = b[p++] & 0xFF;
            if (p >= b.length) {
                break;
            }
            int len = lebLength(b, p);
            long size = readLeb(b, p);
            p += len;
            if (size < 0 || size > b.length - p) { // not p + size: that overflows for sizes near 2^63
                break;
            }
            p += (int) size;
            out.add(new Section(id, start, p));
        }
        return out;
    }
}
