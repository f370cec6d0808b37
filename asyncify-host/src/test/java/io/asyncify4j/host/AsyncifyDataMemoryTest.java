package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import run.endive.runtime.Memory;
import run.endive.runtime.WasmRuntimeException;
import org.junit.jupiter.api.Test;

/** The asyncify data memory: bytes only while borrowed, never another memory's, bounded by its pages. */
class AsyncifyDataMemoryTest {

    @Test
    void aReleasedMemoryIsEmptyAndRefusesAccess() {
        AsyncifyDataMemory m = new AsyncifyDataMemory(0, 4);
        assertThat(m.pages()).isZero();
        assertThat(m.borrow(1)).isTrue();
        assertThat(m.pages()).isEqualTo(1);
        m.writeI32(8, 42);
        assertThat(m.readInt(8)).isEqualTo(42);
        m.release();
        assertThat(m.pages()).isZero();
        assertThat(m.borrowed()).isFalse();
        assertThatThrownBy(() -> m.readInt(8)).isInstanceOf(WasmRuntimeException.class);
    }

    @Test
    void noMemorySeesBytesAnotherWrote() {
        AsyncifyDataMemory a = new AsyncifyDataMemory(0, 4);
        AsyncifyDataMemory b = new AsyncifyDataMemory(0, 4);
        a.borrow(1);
        a.write(0, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        a.writeLong(Memory.PAGE_SIZE - 8, -1L);
        // borrowed at the same time on one thread: separate bytes
        b.borrow(1);
        assertThat(b.readLong(0)).isZero();
        b.writeLong(0, 99);
        assertThat(a.readBytes(0, 8)).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
        a.release();
        b.release();
        // borrowed again after a release: nothing of before
        b.borrow(1);
        assertThat(b.readBytes(0, 8)).containsOnly(0);
        assertThat(b.readLong(Memory.PAGE_SIZE - 8)).isZero();
        b.release();
    }

    @Test
    void holdsOnlyTheBytesItsStackUses() {
        AsyncifyDataMemory m = new AsyncifyDataMemory(0, 4);
        assertThat(m.heldBytes()).isZero();
        m.borrow(1);
        assertThat(m.heldBytes()).isEqualTo(AsyncifyDataMemory.MIN_BYTES);
        assertThat(m.readLong(1_000)).isZero(); // past the buffer: the page's zeros
        m.writeI32(3_000, 5);
        assertThat(m.heldBytes()).isBetween(3_004, 4_096);
        assertThat(m.readInt(3_000)).isEqualTo(5);
        m.release();
        assertThat(m.heldBytes()).isZero();
        m.borrow(1); // starts as large as the last stack needed
        assertThat(m.heldBytes()).isBetween(3_004, 4_096);
        assertThat(m.readInt(3_000)).isZero();
        m.release();
    }

    @Test
    void growsWhileBorrowedWithinItsMaximumKeepingItsBytes() {
        AsyncifyDataMemory m = new AsyncifyDataMemory(0, 3);
        assertThat(m.borrow(4)).isFalse();
        m.borrow(1);
        m.writeI32(Memory.PAGE_SIZE - 4, 7);
        assertThat(m.grow(1)).isEqualTo(1);
        assertThat(m.pages()).isEqualTo(2);
        assertThat(m.readInt(Memory.PAGE_SIZE - 4)).isEqualTo(7);
        m.writeI32(2 * Memory.PAGE_SIZE - 4, 8);
        assertThatThrownBy(() -> m.readInt(2 * Memory.PAGE_SIZE - 2)).isInstanceOf(WasmRuntimeException.class);
        assertThat(m.grow(2)).isEqualTo(-1);
        m.release();
        assertThat(m.pages()).isZero();
        assertThat(m.borrow(3)).isTrue();
        assertThat(m.readInt(2 * Memory.PAGE_SIZE - 4)).isZero();
        m.release();
    }
}
