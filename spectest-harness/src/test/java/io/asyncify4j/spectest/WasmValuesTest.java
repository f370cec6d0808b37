package io.asyncify4j.spectest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.asyncify4j.spectest.value.WasmValues;
import io.asyncify4j.spectest.wast.WastValue;
import java.util.List;
import org.junit.jupiter.api.Test;

class WasmValuesTest {

    @Test
    void scalarsAreParsedFromUnsignedDecimalBitPatterns() {
        assertThat(WasmValues.scalar(WastValue.of("i32", "4294967295"))).isEqualTo(0xffffffffL);
        assertThat(WasmValues.scalar(WastValue.of("i64", "18446744073709551615"))).isEqualTo(-1L);
        assertThat(WasmValues.scalar(WastValue.of("f32", "1069547520"))).isEqualTo(Float.floatToRawIntBits(1.5f));
        assertThat(WasmValues.scalar(WastValue.of("f64", "9223372036854775808"))).isEqualTo(Double.doubleToRawLongBits(-0.0));
        assertThat(WasmValues.scalar(WastValue.of("externref", "null"))).isEqualTo(WasmValues.REF_NULL);
        assertThat(WasmValues.scalar(WastValue.of("externref", "7"))).isEqualTo(7L);
    }

    @Test
    void v128LanesAreLittleEndianLowHalfFirst() {
        long[] v = WasmValues.v128("i32", List.of("1", "2", "3", "4"));
        assertThat(v).containsExactly(0x0000000200000001L, 0x0000000400000003L);
        // i8 lanes: unsigned or negative spellings of the same byte
        long[] bytes = WasmValues.v128("i8", List.of("255", "-1", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "128"));
        assertThat(bytes).containsExactly(0xffffL, 0x8000000000000000L);
        long[] i16 = WasmValues.v128("i16", List.of("65535", "1", "0", "0", "0", "0", "0", "2"));
        assertThat(i16).containsExactly(0x0001ffffL, 0x0002000000000000L);
        assertThat(WasmValues.lane(v[0], v[1], 32, 3)).isEqualTo(4);
        assertThatThrownBy(() -> WasmValues.v128("i32", List.of("1", "2"))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void argumentsFlattenV128IntoTwoSlots() {
        long[] slots = WasmValues.toSlots(List.of(
                WastValue.of("i32", "5"),
                WastValue.v128("i64", List.of("1", "2")),
                WastValue.of("f64", "0")));
        assertThat(slots).containsExactly(5L, 1L, 2L, 0L);
    }

    @Test
    void canonicalNanMatchesOnlyTheCanonicalPayloadOfEitherSign() {
        assertThat(WasmValues.matchesF32("nan:canonical", 0x7fc00000)).isTrue();
        assertThat(WasmValues.matchesF32("nan:canonical", 0xffc00000)).isTrue();
        assertThat(WasmValues.matchesF32("nan:canonical", 0x7fc00001)).isFalse();
        assertThat(WasmValues.matchesF32("nan:canonical", 0x7f800000)).isFalse(); // infinity
        assertThat(WasmValues.matchesF64("nan:canonical", 0x7ff8000000000000L)).isTrue();
        assertThat(WasmValues.matchesF64("nan:canonical", 0xfff8000000000000L)).isTrue();
        assertThat(WasmValues.matchesF64("nan:canonical", 0x7ff8000000000001L)).isFalse();
    }

    @Test
    void arithmeticNanNeedsTheQuietBit() {
        assertThat(WasmValues.matchesF32("nan:arithmetic", 0x7fc00001)).isTrue();
        assertThat(WasmValues.matchesF32("nan:arithmetic", 0xffe00000)).isTrue();
        assertThat(WasmValues.matchesF32("nan:arithmetic", 0x7fa00000)).isFalse(); // signalling
        assertThat(WasmValues.matchesF64("nan:arithmetic", 0x7ff8000000000001L)).isTrue();
        assertThat(WasmValues.matchesF64("nan:arithmetic", 0x7ff4000000000000L)).isFalse(); // signalling
        assertThat(WasmValues.matchesF64("nan:arithmetic", 0x3ff0000000000000L)).isFalse(); // 1.0
    }

    @Test
    void floatsCompareByBitsNotByValue() {
        assertThat(WasmValues.matchesF32(Integer.toUnsignedString(Float.floatToRawIntBits(-0.0f)), Float.floatToRawIntBits(0.0f))).isFalse();
        assertThat(WasmValues.matchesF64("9221120237041090561", 0x7ff8000000000001L)).isTrue(); // exact NaN payload
        assertThat(WasmValues.matchesF64("9221120237041090561", 0x7ff8000000000002L)).isFalse();
    }

    @Test
    void v128LanesCheckNanPatternsPerLane() {
        WastValue expected = WastValue.v128("f32", List.of("nan:canonical", "1069547520", "nan:arithmetic", "0"));
        long[] ok = WasmValues.v128("f32", List.of("2143289344", "1069547520", "2143289345", "0"));
        long[] bad = WasmValues.v128("f32", List.of("2143289344", "1069547520", "2141192192", "0")); // lane 2 signalling
        assertThat(WasmValues.mismatch(List.of(expected), ok)).isNull();
        assertThat(WasmValues.mismatch(List.of(expected), bad)).contains("nan:arithmetic");
        WastValue f64 = WastValue.v128("f64", List.of("nan:arithmetic", "4607182418800017408"));
        assertThat(WasmValues.mismatch(List.of(f64), new long[] {0xfff8000000000000L, 0x3ff0000000000000L})).isNull();
    }

    @Test
    void referencesMatchByNullnessAndHostValue() {
        assertThat(WasmValues.mismatch(List.of(WastValue.of("externref", "null")), new long[] {-1})).isNull();
        assertThat(WasmValues.mismatch(List.of(WastValue.of("externref", "null")), new long[] {3})).isNotNull();
        assertThat(WasmValues.mismatch(List.of(WastValue.of("externref", "3")), new long[] {3})).isNull();
        assertThat(WasmValues.mismatch(List.of(WastValue.of("externref", "3")), new long[] {4})).isNotNull();
        assertThat(WasmValues.mismatch(List.of(WastValue.of("funcref", null)), new long[] {12})).isNull();
        assertThat(WasmValues.mismatch(List.of(WastValue.of("funcref", null)), new long[] {-1})).isNotNull();
        assertThat(WasmValues.mismatch(List.of(WastValue.of("funcref", "0")), new long[] {12})).isNull();
    }

    @Test
    void mismatchChecksCountAndEveryValue() {
        List<WastValue> expected = List.of(WastValue.of("i32", "9"), WastValue.v128("i32", List.of("5", "6", "7", "8")));
        long[] vec = WasmValues.v128("i32", List.of("5", "6", "7", "8"));
        assertThat(WasmValues.mismatch(expected, new long[] {9, vec[0], vec[1]})).isNull();
        assertThat(WasmValues.mismatch(expected, new long[] {9, vec[0], vec[1] + 1})).startsWith("result 1:");
        assertThat(WasmValues.mismatch(expected, new long[] {9})).contains("3 result slot(s), got 1");
        assertThat(WasmValues.mismatch(List.of(), null)).isNull();
        // i32 results compare the low 32 bits only (sign- or zero-extended is the same value)
        assertThat(WasmValues.mismatch(List.of(WastValue.of("i32", "4294967295")), new long[] {-1L})).isNull();
    }

    @Test
    void formatting() {
        assertThat(WasmValues.formatF32(0x7fc00000)).isEqualTo("nan");
        assertThat(WasmValues.formatF32(0xffc00000)).isEqualTo("-nan");
        assertThat(WasmValues.formatF32(0x7fa00000)).isEqualTo("nan:0x200000");
        assertThat(WasmValues.formatF32(Float.floatToRawIntBits(666.6f))).isEqualTo("666.6");
        assertThat(WasmValues.formatF64(Double.doubleToRawLongBits(3.5))).isEqualTo("3.5");
        assertThat(WasmValues.formatF64(Double.doubleToRawLongBits(1.0))).isEqualTo("1");
        assertThat(WasmValues.formatF64(Double.doubleToRawLongBits(-0.0))).isEqualTo("-0");
        assertThat(WasmValues.formatF64(Double.doubleToRawLongBits(1e21))).isEqualTo("1e+21");
        assertThat(WasmValues.formatF64(Double.doubleToRawLongBits(1.5e-7))).isEqualTo("1.5e-7");
        assertThat(WasmValues.formatF64(Double.doubleToRawLongBits(Double.NEGATIVE_INFINITY))).isEqualTo("-inf");
        assertThat(WasmValues.format(WastValue.of("i32", "4294967295"))).isEqualTo("i32:-1 (0xffffffff)");
        assertThat(WasmValues.format(WastValue.v128("i16", List.of("65535", "1", "0", "0", "0", "0", "0", "0"))))
                .isEqualTo("v128:i16x8[-1 1 0 0 0 0 0 0]");
    }
}
