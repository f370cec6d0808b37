package io.asyncify4j.spectest.wast;

import java.util.List;
import java.util.Objects;

/**
 * One value of a wast2json script: an argument, an expected result or one alternative of an
 * {@code either} result.
 *
 * <p>{@code values} holds wast2json's strings verbatim: empty when the JSON had no {@code value}
 * (a result type only, as in {@code assert_trap} or {@code (ref.func)}), one string for scalars and
 * references ({@code "null"} for a null reference), one string per lane for {@code v128}.
 *
 * @param type wast2json's type name: {@code i32}, {@code i64}, {@code f32}, {@code f64}, {@code v128},
 *     {@code funcref}, {@code externref}, {@code exnref}, ...
 * @param laneType for {@code v128}: {@code i8}, {@code i16}, {@code i32}, {@code i64}, {@code f32} or
 *     {@code f64}; otherwise {@code null}
 * @param values the raw value strings
 */
public record WastValue(String type, String laneType, List<String> values) {

    public WastValue {
        Objects.requireNonNull(type, "type");
        values = List.copyOf(values);
    }

    public static WastValue of(String type, String value) {
        return new WastValue(type, null, value == null ? List.of() : List.of(value));
    }

    public static WastValue v128(String laneType, List<String> lanes) {
        return new WastValue("v128", laneType, lanes);
    }

    /** Whether the JSON carried a value at all (results of traps and {@code ref.func} carry none). */
    public boolean hasValue() {
        return !values.isEmpty();
    }

    /** The single value string of a scalar or reference; {@code null} when there is none. */
    public String scalar() {
        return values.isEmpty() ? null : values.get(0);
    }

    public boolean isV128() {
        return "v128".equals(type);
    }

    /** Whether this is a reference type (anything that is not a number or a vector). */
    public boolean isReference() {
        switch (type) {
            case "i32":
            case "i64":
            case "f32":
            case "f64":
            case "v128":
                return false;
            default:
                return true;
        }
    }

    /** How many {@code long} slots Endive uses for a value of this type (v128 takes two). */
    public int slots() {
        return isV128() ? 2 : 1;
    }

    @Override
    public String toString() {
        if (isV128()) {
            return "v128:" + laneType + "x" + values.size() + "[" + String.join(" ", values) + "]";
        }
        return values.isEmpty() ? type : type + ":" + values.get(0);
    }
}
