package io.asyncify4j.host;

import run.endive.runtime.Instance;
import run.endive.runtime.Memory;
import run.endive.runtime.WasmRuntimeException;
import run.endive.wasm.types.ActiveDataSegment;
import run.endive.wasm.types.DataSegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The asyncify data memory of a module asyncified by asyncify4j (the secondary memory the transform
 * adds, which the guest cannot address): it has bytes only while a stack is moved through it, from the
 * start of an unwind until the stack is copied out, and from the copy back until the rewind reaches the
 * suspended import. In between it is empty (zero pages, no buffer), so an instance whose calls are
 * suspended holds nothing here; their stacks live on the heap ({@link SavedStack}).
 *
 * <p>Even then it holds only the bytes the stack needs: a buffer as long as the stack moved through it
 * last time (at least {@value #MIN_BYTES} bytes), grown on use up to its pages; the bytes past the buffer's
 * end read as the zeros they are. Every borrow makes a new buffer, dropped at the release, so no memory
 * ever sees bytes another wrote, and nothing is kept per thread.
 *
 * <p>Used only by the thread running the instance, like {@link AsyncifyController}.
 */
final class AsyncifyDataMemory implements Memory {
    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    static final int MIN_BYTES = 256;

    private final int initialPages;
    private final int maximumPages;
    private int pages;
    /** The borrowed bytes (the first of {@code pages} pages; the rest are zeros), or null while released. */
    private byte[] bytes;
    /** The length of the buffer at the last release: what the next borrow starts with. */
    private int lastBytes = MIN_BYTES;

    AsyncifyDataMemory(int initialPages, int maximumPages) {
        this.initialPages = initialPages;
        this.maximumPages = maximumPages;
        if (initialPages > 0) {
            borrow(initialPages);
        }
    }

    /** Bytes held now: 0 while released, else the buffer's length (at most {@code pages} pages). */
    int heldBytes() {
        byte[] b = bytes;
        return b == null ? 0 : b.length;
    }

    /** Whether the memory has bytes now (between {@link #borrow} and {@link #release}). */
    boolean borrowed() {
        return bytes != null;
    }

    /**
     * Gives the memory {@code atLeastPages} zeroed pages (at least one), if it has none; returns false
     * when that exceeds its maximum.
     */
    boolean borrow(int atLeastPages) {
        if (bytes != null) {
            return atLeastPages <= pages || grow(atLeastPages - pages) >= 0;
        }
        int n = Math.max(1, atLeastPages);
        if (n > maximumPages) {
            return false;
        }
        pages = n;
        bytes = new byte[Math.min(lastBytes, n * PAGE_SIZE)];
        return true;
    }

    /** Empties the memory (zero pages), dropping its bytes. */
    void release() {
        byte[] b = bytes;
        if (b == null) {
            return;
        }
        lastBytes = b.length;
        bytes = null;
        pages = 0;
    }

    /**
     * The borrowed bytes, after checking that {@code [address, address + length)} lies in the memory's
     * pages, and growing the buffer to cover it.
     */
    private byte[] at(int address, int length) {
        byte[] b = bytes;
        long size = (long) pages * PAGE_SIZE;
        if (address < 0 || length < 0 || b == null || address > size - length) {
            throw new WasmRuntimeException("out of bounds memory access: " + length + " bytes at " + address
                    + " of the asyncify data memory (" + pages + " pages)");
        }
        int end = address + length;
        if (end > b.length) {
            b = Arrays.copyOf(b, (int) Math.min(size, Math.max(end, 2L * b.length)));
            bytes = b;
        }
        return b;
    }

    @Override
    public int pages() {
        return pages;
    }

    @Override
    public int grow(int more) {
        int old = pages;
        if (more < 0 || (long) old + more > maximumPages) {
            return -1;
        }
        if (more == 0) {
            return old;
        }
        if (bytes == null) {
            // Only the instrumented unwind grows this memory, and only while it is borrowed.
            throw new IllegalStateException("the asyncify data memory grows outside an unwind");
        }
        pages = old + more; // the buffer grows when the new pages are used
        return old;
    }

    @Override
    public int initialPages() {
        return initialPages;
    }

    @Override
    public int maximumPages() {
        return maximumPages;
    }

    @Override
    public boolean shared() {
        return false;
    }

    @Override
    public Object lock(int address) {
        return this;
    }

    @Override
    public int waitOn(int address, int expected, long timeout) {
        throw new WasmRuntimeException("the asyncify data memory is not shared");
    }

    @Override
    public int waitOn(int address, long expected, long timeout) {
        throw new WasmRuntimeException("the asyncify data memory is not shared");
    }

    @Override
    public int notify(int address, int count) {
        return 0;
    }

    @Override
    public void initialize(Instance instance, DataSegment[] segments) {
        initialize(instance, segments, 0);
    }

    @Override
    public void initialize(Instance instance, DataSegment[] segments, int memoryIndex) {
        for (DataSegment s : segments == null ? new DataSegment[0] : segments) {
            if (s instanceof ActiveDataSegment a && a.index() == memoryIndex) {
                throw new IllegalStateException("a data segment targets the asyncify data memory");
            }
        }
    }

    @Override
    public void initPassiveSegment(int segment, int destination, int offset, int size) {
        throw new WasmRuntimeException("no data segment initialises the asyncify data memory");
    }

    @Override
    public void write(int address, byte[] data, int offset, int length) {
        System.arraycopy(data, offset, at(address, length), address, length);
    }

    @Override
    public byte read(int address) {
        return at(address, 1)[address];
    }

    @Override
    public byte[] readBytes(int address, int length) {
        return Arrays.copyOfRange(at(address, length), address, address + length);
    }

    @Override
    public void writeI32(int address, int value) {
        INT.set(at(address, 4), address, value);
    }

    @Override
    public int readInt(int address) {
        return (int) INT.get(at(address, 4), address);
    }

    @Override
    public void writeLong(int address, long value) {
        LONG.set(at(address, 8), address, value);
    }

    @Override
    public long readLong(int address) {
        return (long) LONG.get(at(address, 8), address);
    }

    @Override
    public void writeShort(int address, short value) {
        SHORT.set(at(address, 2), address, value);
    }

    @Override
    public short readShort(int address) {
        return (short) SHORT.get(at(address, 2), address);
    }

    @Override
    public long readU16(int address) {
        return Short.toUnsignedLong(readShort(address));
    }

    @Override
    public void writeByte(int address, byte value) {
        at(address, 1)[address] = value;
    }

    @Override
    public void writeF32(int address, float value) {
        writeI32(address, Float.floatToRawIntBits(value));
    }

    @Override
    public long readF32(int address) {
        return readInt(address);
    }

    @Override
    public float readFloat(int address) {
        return Float.intBitsToFloat(readInt(address));
    }

    @Override
    public void writeF64(int address, double value) {
        writeLong(address, Double.doubleToRawLongBits(value));
    }

    @Override
    public double readDouble(int address) {
        return Double.longBitsToDouble(readLong(address));
    }

    @Override
    public long readF64(int address) {
        return readLong(address);
    }

    @Override
    public void zero() {
        if (bytes != null) {
            Arrays.fill(bytes, (byte) 0);
        }
    }

    @Override
    public void fill(byte value, int from, int to) {
        Arrays.fill(at(from, to - from), from, to, value);
    }

    @Override
    public void copy(int destination, int source, int length) {
        byte[] b = at(source, length);
        System.arraycopy(b, source, at(destination, length), destination, length);
    }

    @Override
    public void drop(int segment) {
        // no data segment belongs to this memory
    }
}
