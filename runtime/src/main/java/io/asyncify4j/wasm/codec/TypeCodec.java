package io.asyncify4j.wasm.codec;

import io.asyncify4j.wasm.binary.BinaryReader;
import io.asyncify4j.wasm.binary.BinaryWriter;
import io.asyncify4j.wasm.binary.MalformedModuleException;
import io.asyncify4j.wasm.ir.BlockType;
import io.asyncify4j.wasm.model.HeapType;
import io.asyncify4j.wasm.model.Limits;
import io.asyncify4j.wasm.model.ValType;

/** Binary encodings of value, heap, block and limit types, shared by the decoder and the encoder. */
final class TypeCodec {
    private TypeCodec() {}

    static final int REF_NULL = 0x63;
    static final int REF = 0x64;
    static final int EMPTY_BLOCK = 0x40;

    static boolean startsValType(int b) {
        return (b >= 0x7B && b <= 0x7F) || b == REF_NULL || b == REF || HeapType.isAbstractCode(b);
    }

    static long readHeapType(BinaryReader r) {
        int start = r.position();
        long ht = r.s33();
        if (ht < 0 && !HeapType.isAbstractCode((int) (ht + 0x80))) {
            throw new MalformedModuleException("malformed heap type " + ht, start);
        }
        return ht;
    }

    static ValType readValType(BinaryReader r) {
        int start = r.position();
        int b = r.u8();
        switch (b) {
            case 0x7F: return ValType.I32;
            case 0x7E: return ValType.I64;
            case 0x7D: return ValType.F32;
            case 0x7C: return ValType.F64;
            case 0x7B: return ValType.V128;
            case REF_NULL: return ValType.ref(true, readHeapType(r));
            case REF: return ValType.ref(false, readHeapType(r));
            default:
                if (HeapType.isAbstractCode(b)) {
                    return ValType.ref(true, b - 0x80);
                }
                throw new MalformedModuleException("malformed value type 0x" + Integer.toHexString(b), start);
        }
    }

    /** A field's storage type: a value type or a packed i8/i16. */
    static ValType readStorageType(BinaryReader r) {
        int b = r.peekU8();
        if (b == 0x78) {
            r.u8();
            return ValType.PACKED_I8;
        }
        if (b == 0x77) {
            r.u8();
            return ValType.PACKED_I16;
        }
        return readValType(r);
    }

    static void writeValType(BinaryWriter w, ValType t) {
        switch (t.kind()) {
            case I32: w.u8(0x7F); break;
            case I64: w.u8(0x7E); break;
            case F32: w.u8(0x7D); break;
            case F64: w.u8(0x7C); break;
            case V128: w.u8(0x7B); break;
            case I8: w.u8(0x78); break;
            case I16: w.u8(0x77); break;
            case REF:
                if (t.nullable() && t.heapType() < 0) {
                    w.u8((int) (t.heapType() + 0x80)); // shorthand, e.g. funcref
                } else {
                    w.u8(t.nullable() ? REF_NULL : REF);
                    w.signed(t.heapType());
                }
                break;
            default:
                throw new IllegalArgumentException("type " + t + " cannot be encoded");
        }
    }

    static BlockType readBlockType(BinaryReader r) {
        int b = r.peekU8();
        if (b == EMPTY_BLOCK) {
            r.u8();
            return BlockType.EMPTY;
        }
        if (startsValType(b)) {
            return BlockType.of(readValType(r));
        }
        int start = r.position();
        long index = r.s33();
        if (index < 0) {
            throw new MalformedModuleException("malformed block type " + index, start);
        }
        if (index > Integer.MAX_VALUE) {
            // BlockType holds an int: a larger index would silently turn into the empty block type.
            throw new MalformedModuleException("block type index too large: " + index, start);
        }
        return BlockType.ofTypeIndex((int) index);
    }

    static void writeBlockType(BinaryWriter w, BlockType bt) {
        if (bt.hasTypeIndex()) {
            w.signed(bt.typeIndex());
        } else if (bt.result() == null) {
            w.u8(EMPTY_BLOCK);
        } else {
            writeValType(w, bt.result());
        }
    }

    static Limits readLimits(BinaryReader r) {
        int start = r.position();
        int flags = r.u8();
        if ((flags & ~0x07) != 0) {
            throw new MalformedModuleException("malformed limits flags 0x" + Integer.toHexString(flags), start);
        }
        boolean hasMax = (flags & 1) != 0;
        boolean shared = (flags & 2) != 0;
        boolean address64 = (flags & 4) != 0;
        long min = address64 ? r.u64() : r.u32();
        long max = hasMax ? (address64 ? r.u64() : r.u32()) : -1;
        return new Limits(min, max, shared, address64);
    }

    static void writeLimits(BinaryWriter w, Limits l) {
        int flags = (l.hasMax() ? 1 : 0) | (l.shared() ? 2 : 0) | (l.address64() ? 4 : 0);
        w.u8(flags);
        w.u64(l.min());
        if (l.hasMax()) {
            w.u64(l.max());
        }
    }
}
