package io.asyncify4j.wasm.binary;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HexFormat;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class BinaryReaderWriterTest {

    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    private static byte[] write(Function<BinaryWriter, BinaryWriter> f) {
        return f.apply(new BinaryWriter()).toByteArray();
    }

    /** Reads one value after a 2-byte prefix, checks it consumed exactly the encoding. */
    private static long readAt2(byte[] encoding, ToLongFunction<BinaryReader> read) {
        byte[] buf = new byte[encoding.length + 3];
        buf[0] = (byte) 0xAA;
        buf[1] = (byte) 0xBB;
        System.arraycopy(encoding, 0, buf, 2, encoding.length);
        buf[buf.length - 1] = (byte) 0xCC; // trailing byte that must stay unread
        BinaryReader r = new BinaryReader(buf);
        r.u8();
        r.u8();
        long v = read.applyAsLong(r);
        assertThat(r.position()).as("bytes consumed").isEqualTo(2 + encoding.length);
        return v;
    }

    // ------------------------------------------------------------- u32

    @ParameterizedTest
    @CsvSource({
        "0, 00", "1, 01", "63, 3f", "64, 40", "127, 7f", "128, 8001", "624485, e58e26",
        "2147483647, ffffffff07", "2147483648, 8080808008", "4294967295, ffffffff0f"})
    void u32RoundTripsAtBoundaries(long value, String encoding) {
        assertThat(write(w -> w.u32(value))).isEqualTo(hex(encoding));
        assertThat(readAt2(hex(encoding), BinaryReader::u32)).isEqualTo(value);
    }

    @Test
    void u32AcceptsPaddedEncodingsWithinFiveBytes() {
        assertThat(readAt2(hex("8000"), BinaryReader::u32)).isZero();
        assertThat(readAt2(hex("8180808000"), BinaryReader::u32)).isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "808080808000", // six bytes: too long even though the value is 0
        "ffffffff1f",   // 2^32 + ... : bit 32 set
        "8080808010",   // exactly 2^32
        "ffffffff7f",   // all high bits set
        "ffffffff8f00"  // continuation bit on the fifth byte
    })
    void u32RejectsOverlongAndTooLargeAtTheIntegersStart(String encoding) {
        byte[] buf = new byte[2 + hex(encoding).length];
        System.arraycopy(hex(encoding), 0, buf, 2, hex(encoding).length);
        BinaryReader r = new BinaryReader(buf);
        r.u8();
        r.u8();
        assertThatThrownBy(r::u32).isInstanceOfSatisfying(MalformedModuleException.class,
                e -> assertThat(e.offset()).isEqualTo(2));
    }

    @Test
    void truncatedLebFailsAtTheEndOfInput() {
        BinaryReader r = new BinaryReader(hex("01 80 80"));
        r.u8();
        assertThatThrownBy(r::u32).isInstanceOfSatisfying(MalformedModuleException.class,
                e -> assertThat(e.offset()).isEqualTo(3));
        BinaryReader s = new BinaryReader(hex("ff ff"), 0, 1);
        assertThatThrownBy(s::s64).isInstanceOfSatisfying(MalformedModuleException.class,
                e -> assertThat(e.offset()).as("a slice's end bounds the read").isEqualTo(1));
    }

    @Test
    void indexRejectsValuesBeyondJavaInt() {
        BinaryReader r = new BinaryReader(hex("8080808008"));
        assertThatThrownBy(r::index).isInstanceOf(MalformedModuleException.class);
        assertThat(new BinaryReader(hex("ffffffff07")).index()).isEqualTo(Integer.MAX_VALUE);
    }

    // ------------------------------------------------------------- s32

    @ParameterizedTest
    @CsvSource({
        "0, 00", "1, 01", "63, 3f", "64, c000", "-1, 7f", "-64, 40", "-65, bf7f", "127, ff00", "-128, 807f",
        "2147483647, ffffffff07", "-2147483648, 8080808078"})
    void s32RoundTripsAtBoundaries(int value, String encoding) {
        assertThat(write(w -> w.signed(value))).isEqualTo(hex(encoding));
        assertThat(readAt2(hex(encoding), BinaryReader::s32)).isEqualTo(value);
    }

    @Test
    void s32AcceptsSignPaddingWithinFiveBytes() {
        assertThat(readAt2(hex("ffffffff7f"), BinaryReader::s32)).isEqualTo(-1);
        assertThat(readAt2(hex("8080808000"), BinaryReader::s32)).isEqualTo(0);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "808080808000", // six bytes
        "ffffffff0f",   // 2^32-1: positive value beyond s32
        "8080808008",   // 2^31
        "8080808070",   // unused bits not a sign extension
        "ffffffff4f"})
    void s32RejectsOverlongAndTooLarge(String encoding) {
        byte[] buf = new byte[1 + hex(encoding).length];
        System.arraycopy(hex(encoding), 0, buf, 1, hex(encoding).length);
        BinaryReader r = new BinaryReader(buf);
        r.u8();
        assertThatThrownBy(r::s32).isInstanceOfSatisfying(MalformedModuleException.class,
                e -> assertThat(e.offset()).isEqualTo(1));
    }

    // ------------------------------------------------------------- s33

    @ParameterizedTest
    @CsvSource({
        "0, 00", "-64, 40", "-65, bf7f", "63, 3f", "64, c000", "2147483647, ffffffff07",
        "4294967295, ffffffff0f", "-4294967296, 8080808070", "-1, 7f"})
    void s33RoundTripsAtBoundaries(long value, String encoding) {
        assertThat(write(w -> w.signed(value))).isEqualTo(hex(encoding));
        assertThat(readAt2(hex(encoding), BinaryReader::s33)).isEqualTo(value);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ffffffff1f", "8080808060", "808080808000"})
    void s33RejectsOverlongAndTooLarge(String encoding) {
        BinaryReader r = new BinaryReader(hex(encoding));
        assertThatThrownBy(r::s33).isInstanceOfSatisfying(MalformedModuleException.class,
                e -> assertThat(e.offset()).isEqualTo(0));
    }

    // ------------------------------------------------------------- s64 / u64

    @ParameterizedTest
    @CsvSource({
        "0, 00", "1, 01", "-1, 7f", "63, 3f", "64, c000", "-64, 40", "-65, bf7f",
        "2147483647, ffffffff07", "-2147483648, 8080808078", "4294967295, ffffffff0f",
        "9223372036854775807, ffffffffffffffffff00", "-9223372036854775808, 8080808080808080807f"})
    void s64RoundTripsAtBoundaries(long value, String encoding) {
        assertThat(write(w -> w.signed(value))).isEqualTo(hex(encoding));
        assertThat(readAt2(hex(encoding), BinaryReader::s64)).isEqualTo(value);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "ffffffffffffffffff01", // bit 63 set with zero padding: not a sign extension
        "8080808080808080807e",
        "8080808080808080808000"}) // eleven bytes
    void s64RejectsOverlongAndTooLarge(String encoding) {
        byte[] buf = new byte[3 + hex(encoding).length];
        System.arraycopy(hex(encoding), 0, buf, 3, hex(encoding).length);
        BinaryReader r = new BinaryReader(buf);
        r.bytes(3);
        assertThatThrownBy(r::s64).isInstanceOfSatisfying(MalformedModuleException.class,
                e -> assertThat(e.offset()).isEqualTo(3));
    }

    @ParameterizedTest
    @CsvSource({
        "0, 00", "64, 40", "4294967295, ffffffff0f", "9223372036854775807, ffffffffffffffff7f",
        "-9223372036854775808, 80808080808080808001", "-1, ffffffffffffffffff01"})
    void u64RoundTripsAtBoundaries(long value, String encoding) {
        assertThat(write(w -> w.u64(value))).isEqualTo(hex(encoding));
        assertThat(readAt2(hex(encoding), BinaryReader::u64)).isEqualTo(value);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ffffffffffffffffff02", "ffffffffffffffffff7f", "8080808080808080808000"})
    void u64RejectsOverlongAndTooLarge(String encoding) {
        BinaryReader r = new BinaryReader(hex(encoding));
        assertThatThrownBy(r::u64).isInstanceOfSatisfying(MalformedModuleException.class,
                e -> assertThat(e.offset()).isEqualTo(0));
    }

    @Test
    void writerMasksU32ToThirtyTwoBits() {
        assertThat(write(w -> w.u32(-1L))).isEqualTo(hex("ffffffff0f"));
        assertThat(write(w -> w.u32(0x1_0000_0005L))).isEqualTo(hex("05"));
    }

    // ------------------------------------------------------------- floats

    @ParameterizedTest
    @ValueSource(ints = {0, 0x80000000, 0x3F800000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000,
        0x7FA00001, 0x7F800001, 0xFFBFFFFF, 0x00000001})
    void f32BitsArePreservedExactly(int bits) {
        byte[] b = write(w -> w.f32Bits(bits));
        assertThat(b).containsExactly((byte) bits, (byte) (bits >>> 8), (byte) (bits >>> 16), (byte) (bits >>> 24));
        BinaryReader r = new BinaryReader(b);
        assertThat(r.f32Bits()).isEqualTo(bits);
        assertThat(r.atEnd()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(longs = {0L, 0x8000000000000000L, 0x3FF0000000000000L, 0x7FF0000000000000L,
        0x7FF8000000000000L, 0xFFF8000000000123L, 0x7FF0000000000001L, 0x7FF4000000000000L,
        0xFFFFFFFFFFFFFFFFL, 1L})
    void f64BitsArePreservedExactly(long bits) {
        byte[] b = write(w -> w.f64Bits(bits));
        assertThat(b).hasSize(8);
        for (int i = 0; i < 8; i++) {
            assertThat(b[i]).as("byte %d little endian", i).isEqualTo((byte) (bits >>> (8 * i)));
        }
        BinaryReader r = new BinaryReader(b);
        assertThat(r.f64Bits()).isEqualTo(bits);
        assertThat(r.atEnd()).isTrue();
    }

    @Test
    void truncatedFloatIsMalformed() {
        BinaryReader r = new BinaryReader(hex("0000803f"), 0, 3);
        assertThatThrownBy(r::f32Bits).isInstanceOfSatisfying(MalformedModuleException.class,
                e -> assertThat(e.offset()).isEqualTo(0));
    }

    // ------------------------------------------------------------- names

    @Test
    void namesRoundTripUtf8() {
        String s = "h\u00e9llo \u4e16\u754c \ud83d\ude00";
        byte[] b = write(w -> w.name(s));
        BinaryReader r = new BinaryReader(b);
        assertThat(r.name()).isEqualTo(s);
        assertThat(r.atEnd()).isTrue();
        assertThat(b[0]).isEqualTo((byte) (b.length - 1));
    }

    @ParameterizedTest
    @ValueSource(strings = {"02ff41", "02c080", "03eda080", "0180", "04f4908080"})
    void malformedUtf8NameReportsTheNamesOffset(String encoding) {
        byte[] buf = new byte[4 + hex(encoding).length];
        System.arraycopy(hex(encoding), 0, buf, 4, hex(encoding).length);
        BinaryReader r = new BinaryReader(buf);
        r.bytes(4);
        assertThatThrownBy(r::name).isInstanceOfSatisfying(MalformedModuleException.class,
                e -> assertThat(e.offset()).isEqualTo(4));
    }

    @Test
    void sliceIsBoundedAndAdvancesTheParent() {
        BinaryReader r = new BinaryReader(hex("01 02 03 04"));
        r.u8();
        BinaryReader s = r.slice(2);
        assertThat(r.position()).isEqualTo(3);
        assertThat(s.u8()).isEqualTo(2);
        assertThat(s.u8()).isEqualTo(3);
        assertThat(s.atEnd()).isTrue();
        assertThatThrownBy(s::u8).isInstanceOfSatisfying(MalformedModuleException.class,
                e -> assertThat(e.offset()).isEqualTo(3));
        assertThatThrownBy(() -> r.slice(2)).isInstanceOf(MalformedModuleException.class);
    }

    @Test
    void sizedPrefixesTheLength() {
        BinaryWriter inner = new BinaryWriter();
        for (int i = 0; i < 200; i++) {
            inner.u8(i);
        }
        byte[] b = new BinaryWriter().u8(9).sized(inner).toByteArray();
        assertThat(b).hasSize(1 + 2 + 200);
        BinaryReader r = new BinaryReader(b);
        assertThat(r.u8()).isEqualTo(9);
        assertThat(r.u32()).isEqualTo(200);
        assertThat(r.bytes(200)[199]).isEqualTo((byte) 199);
    }
}
