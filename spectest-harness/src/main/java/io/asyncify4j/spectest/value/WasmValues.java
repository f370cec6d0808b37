package io.asyncify4j.spectest.value;

import io.asyncify4j.spectest.wast.WastValue;
import java.util.ArrayList;
import java.util.List;

/**
 * Conversions between wast2json values and Endive's {@code long} slots, and result matching.
 *
 * <p>Endive passes every value as a {@code long}: i32 in the low 32 bits, f32 and f64 as raw bits,
 * references as an index with -1 for null; a v128 takes two slots, the low 64 bits (lanes 0..) first.
 * wast2json writes numbers as unsigned decimal bit patterns, v128 values lane by lane, and the NaN
 * patterns {@code nan:canonical} / {@code nan:arithmetic} for float results and float lanes.
 *
 * <p>Matching compares bit patterns (so {@code -0.0 != 0.0} and NaN payloads count), except for the
 * NaN patterns (canonical: only the quiet bit of the payload set; arithmetic: the quiet bit set, any
 * payload, either sign) and references (null must be null; a host reference must be the same value;
 * a function reference, or a reference given without a value, must be non-null).
 */
public final class WasmValues {
    /** Endive's null reference. */
    public static final long REF_NULL = -1L;

    public static final String NAN_CANONICAL = "nan:canonical";
    public static final String NAN_ARITHMETIC = "nan:arithmetic";

    private WasmValues() {}

    // ---------------------------------------------------------------- arguments

    /** Flattens arguments into Endive's slots. */
    public static long[] toSlots(List<WastValue> values) {
        int n = values.stream().mapToInt(WastValue::slots).sum();
        long[] out = new long[n];
        int i = 0;
        for (WastValue v : values) {
            if (v.isV128()) {
                long[] vec = v128(v.laneType(), v.values());
                out[i++] = vec[0];
                out[i++] = vec[1];
            } else {
                out[i++] = scalar(v);
            }
        }
        return out;
    }

    /** The slot of a scalar or reference value. */
    public static long scalar(WastValue v) {
        String s = v.scalar();
        if (s == null) {
            throw new IllegalArgumentException("value of type " + v.type() + " has no value");
        }
        switch (v.type()) {
            case "i32":
            case "f32":
                return parseBits(s, 32);
            case "i64":
            case "f64":
                return parseBits(s, 64);
            default:
                // references: "null" or an opaque host value
                return "null".equals(s) ? REF_NULL : parseBits(s, 64);
        }
    }

    /** Parses a decimal (possibly unsigned, possibly negative) or hex literal into {@code bits} bits. */
    static long parseBits(String s, int bits) {
        if (isNanPattern(s)) {
            throw new IllegalArgumentException("NaN pattern " + s + " is not a concrete value");
        }
        long value;
        String t = s.strip();
        if (t.startsWith("0x") || t.startsWith("0X")) {
            value = Long.parseUnsignedLong(t.substring(2), 16);
        } else if (t.startsWith("-")) {
            value = Long.parseLong(t);
        } else {
            value = Long.parseUnsignedLong(t);
        }
        return bits == 64 ? value : value & mask(bits);
    }

    /** A v128 from its lanes: two longs, low half first (little-endian lane order). */
    public static long[] v128(String laneType, List<String> lanes) {
        int width = laneBits(laneType);
        int count = 128 / width;
        if (lanes.size() != count) {
            throw new IllegalArgumentException("v128 " + laneType + " needs " + count + " lanes, got " + lanes.size());
        }
        long[] out = new long[2];
        for (int i = 0; i < count; i++) {
            long lane = parseBits(lanes.get(i), width);
            int bit = i * width;
            out[bit / 64] |= (lane & mask(width)) << (bit % 64);
        }
        return out;
    }

    /** Lane {@code i} of a v128 given as {@code (low, high)}, zero-extended. */
    public static long lane(long low, long high, int width, int i) {
        int bit = i * width;
        long half = bit < 64 ? low : high;
        return (half >>> (bit % 64)) & mask(width);
    }

    public static int laneBits(String laneType) {
        if (laneType == null) {
            throw new IllegalArgumentException("v128 value without lane_type");
        }
        switch (laneType) {
            case "i8":
                return 8;
            case "i16":
                return 16;
            case "i32":
            case "f32":
                return 32;
            case "i64":
            case "f64":
                return 64;
            default:
                throw new IllegalArgumentException("unknown lane type " + laneType);
        }
    }

    static long mask(int bits) {
        return bits == 64 ? -1L : (1L << bits) - 1;
    }

    public static boolean isNanPattern(String s) {
        return NAN_CANONICAL.equals(s) || NAN_ARITHMETIC.equals(s);
    }

    // ---------------------------------------------------------------- matching

    /** Number of slots the given values occupy. */
    public static int slots(List<WastValue> values) {
        return values.stream().mapToInt(WastValue::slots).sum();
    }

    /**
     * Checks {@code actual} against {@code expected}, value by value.
     *
     * @return {@code null} when everything matches, else a description of the first mismatch
     */
    public static String mismatch(List<WastValue> expected, long[] actual) {
        long[] slots = actual == null ? new long[0] : actual;
        int need = slots(expected);
        if (slots.length != need) {
            return "expected " + need + " result slot(s), got " + slots.length + " " + formatSlots(expected, slots);
        }
        int offset = 0;
        for (int i = 0; i < expected.size(); i++) {
            WastValue e = expected.get(i);
            if (!matches(e, slots, offset)) {
                String where = expected.size() > 1 ? "result " + i + ": " : "";
                return where + "expected " + format(e) + ", got " + formatActual(e, slots, offset);
            }
            offset += e.slots();
        }
        return null;
    }

    /** Whether the value at {@code slots[offset]} (two slots for v128) matches {@code expected}. */
    public static boolean matches(WastValue expected, long[] slots, int offset) {
        String type = expected.type();
        if (expected.isV128()) {
            return matchesV128(expected, slots[offset], slots[offset + 1]);
        }
        long actual = slots[offset];
        if (expected.isReference()) {
            String s = expected.scalar();
            if ("null".equals(s)) {
                return actual == REF_NULL;
            }
            if (s == null || "funcref".equals(type)) {
                // (ref.func) / (ref.extern) / (ref.any) ... without a value: any non-null reference.
                // A function reference has no engine-independent identity (wast2json writes "0" for
                // (ref.func)), so a non-null funcref matches any non-null function reference.
                return actual != REF_NULL;
            }
            return actual == parseBits(s, 64);
        }
        String s = expected.scalar();
        if (s == null) {
            return true; // a result type only: anything of that type
        }
        switch (type) {
            case "i32":
                return (int) actual == (int) parseBits(s, 32);
            case "i64":
                return actual == parseBits(s, 64);
            case "f32":
                return matchesF32(s, (int) actual);
            case "f64":
                return matchesF64(s, actual);
            default:
                throw new IllegalArgumentException("unknown value type " + type);
        }
    }

    public static boolean matchesF32(String expected, int bits) {
        if (NAN_CANONICAL.equals(expected)) {
            return (bits & 0x7fffffff) == 0x7fc00000;
        }
        if (NAN_ARITHMETIC.equals(expected)) {
            return (bits & 0x7fc00000) == 0x7fc00000;
        }
        return bits == (int) parseBits(expected, 32);
    }

    public static boolean matchesF64(String expected, long bits) {
        if (NAN_CANONICAL.equals(expected)) {
            return (bits & 0x7fffffffffffffffL) == 0x7ff8000000000000L;
        }
        if (NAN_ARITHMETIC.equals(expected)) {
            return (bits & 0x7ff8000000000000L) == 0x7ff8000000000000L;
        }
        return bits == parseBits(expected, 64);
    }

    static boolean matchesV128(WastValue expected, long low, long high) {
        String laneType = expected.laneType();
        int width = laneBits(laneType);
        List<String> lanes = expected.values();
        if (lanes.size() != 128 / width) {
            return false;
        }
        for (int i = 0; i < lanes.size(); i++) {
            long lane = lane(low, high, width, i);
            String e = lanes.get(i);
            boolean ok;
            if ("f32".equals(laneType)) {
                ok = matchesF32(e, (int) lane);
            } else if ("f64".equals(laneType)) {
                ok = matchesF64(e, lane);
            } else {
                ok = lane == (parseBits(e, width) & mask(width));
            }
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    // ---------------------------------------------------------------- formatting

    /** An expected value for messages, e.g. {@code i32:-1 (0xffffffff)} or {@code f32:nan:canonical}. */
    public static String format(WastValue v) {
        if (v.isV128()) {
            List<String> lanes = new ArrayList<>();
            int width = laneBits(v.laneType());
            for (String s : v.values()) {
                lanes.add(isNanPattern(s) ? s : formatLane(v.laneType(), parseBits(s, width)));
            }
            return "v128:" + v.laneType() + "x" + lanes.size() + "[" + String.join(" ", lanes) + "]";
        }
        String s = v.scalar();
        if (s == null) {
            return v.isReference() ? v.type() + ":non-null" : v.type();
        }
        if (v.isReference()) {
            return v.type() + ":" + s;
        }
        if (isNanPattern(s)) {
            return v.type() + ":" + s;
        }
        return formatScalar(v.type(), parseBits(s, v.type().endsWith("32") ? 32 : 64));
    }

    /** The actual value at {@code offset}, formatted like {@code expected}'s type. */
    public static String formatActual(WastValue expected, long[] slots, int offset) {
        if (expected.isV128()) {
            String laneType = expected.laneType() == null ? "i32" : expected.laneType();
            int width = laneBits(laneType);
            List<String> lanes = new ArrayList<>();
            for (int i = 0; i < 128 / width; i++) {
                lanes.add(formatLane(laneType, lane(slots[offset], slots[offset + 1], width, i)));
            }
            return "v128:" + laneType + "x" + lanes.size() + "[" + String.join(" ", lanes) + "]";
        }
        long bits = slots[offset];
        if (expected.isReference()) {
            return expected.type() + ":" + (bits == REF_NULL ? "null" : Long.toString(bits));
        }
        return formatScalar(expected.type(), bits);
    }

    /** Formats result slots according to the expected types (falls back to raw longs). */
    public static String formatSlots(List<WastValue> types, long[] slots) {
        if (slots == null) {
            return "[]";
        }
        if (slots(types) == slots.length) {
            List<String> out = new ArrayList<>();
            int offset = 0;
            for (WastValue t : types) {
                out.add(formatActual(t, slots, offset));
                offset += t.slots();
            }
            return out.toString();
        }
        return java.util.Arrays.toString(slots);
    }

    public static String formatScalar(String type, long bits) {
        switch (type) {
            case "i32":
                return "i32:" + (int) bits + (((int) bits) < 0 ? " (0x" + Integer.toHexString((int) bits) + ")" : "");
            case "i64":
                return "i64:" + bits + (bits < 0 ? " (0x" + Long.toHexString(bits) + ")" : "");
            case "f32":
                return "f32:" + formatF32((int) bits) + " (0x" + Integer.toHexString((int) bits) + ")";
            case "f64":
                return "f64:" + formatF64(bits) + " (0x" + Long.toHexString(bits) + ")";
            default:
                return type + ":" + bits;
        }
    }

    static String formatLane(String laneType, long lane) {
        switch (laneType) {
            case "i8":
                return Byte.toString((byte) lane);
            case "i16":
                return Short.toString((short) lane);
            case "i32":
                return Integer.toString((int) lane);
            case "f32":
                return formatF32((int) lane);
            case "f64":
                return formatF64(lane);
            default:
                return Long.toString(lane);
        }
    }

    /** A float for humans: shortest decimal, {@code nan}, {@code nan:0x...} for non-canonical NaNs. */
    public static String formatF32(int bits) {
        float f = Float.intBitsToFloat(bits);
        if (Float.isNaN(f)) {
            int payload = bits & 0x7fffff;
            String sign = bits < 0 ? "-" : "";
            return payload == 0x400000 ? sign + "nan" : sign + "nan:0x" + Integer.toHexString(payload);
        }
        if (Float.isInfinite(f)) {
            return f > 0 ? "inf" : "-inf";
        }
        return trimNumber(Float.toString(f));
    }

    public static String formatF64(long bits) {
        double d = Double.longBitsToDouble(bits);
        if (Double.isNaN(d)) {
            long payload = bits & 0xfffffffffffffL;
            String sign = bits < 0 ? "-" : "";
            return payload == 0x8000000000000L ? sign + "nan" : sign + "nan:0x" + Long.toHexString(payload);
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        return trimNumber(Double.toString(d));
    }

    /**
     * Java's shortest round-trip decimal in the style of wasm shells: no trailing {@code .0}, and a
     * lower-case exponent with explicit sign ({@code 1e+21}, {@code 1.5e-7}).
     */
    static String trimNumber(String javaRepr) {
        String mantissa = javaRepr;
        String exponent = null;
        int e = javaRepr.indexOf('E');
        if (e >= 0) {
            mantissa = javaRepr.substring(0, e);
            exponent = javaRepr.substring(e + 1);
        }
        if (mantissa.endsWith(".0")) {
            mantissa = mantissa.substring(0, mantissa.length() - 2);
        }
        if (exponent == null) {
            return mantissa;
        }
        return mantissa + "e" + (exponent.startsWith("-") ? exponent : "+" + exponent);
    }
}
