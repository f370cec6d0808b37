package io.asyncify4j.asyncify;

import static io.asyncify4j.asyncify.Guest.args;
import static io.asyncify4j.asyncify.Guest.assertSameAsPlain;
import static io.asyncify4j.asyncify.Guest.assertSameAsPlainWithChaos;
import static io.asyncify4j.wasm.model.ValType.I32;
import static io.asyncify4j.wasm.testutil.Ir.export;
import static io.asyncify4j.wasm.testutil.Ir.func;
import static io.asyncify4j.wasm.testutil.Ir.get;
import static io.asyncify4j.wasm.testutil.Ir.i32;
import static io.asyncify4j.wasm.testutil.Ir.ifElse;
import static io.asyncify4j.wasm.testutil.Ir.op;
import static io.asyncify4j.wasm.testutil.Ir.seq;
import static io.asyncify4j.wasm.testutil.Ir.set;
import static io.asyncify4j.wasm.testutil.Ir.types;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.asyncify4j.engine.SuspendPolicy;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.ir.BlockType;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.model.ElementSegment;
import io.asyncify4j.wasm.model.FieldType;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Function;
import io.asyncify4j.wasm.model.HeapType;
import io.asyncify4j.wasm.model.Import;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.NameSection;
import io.asyncify4j.wasm.model.RecGroup;
import io.asyncify4j.wasm.model.SegmentMode;
import io.asyncify4j.wasm.model.StructType;
import io.asyncify4j.wasm.model.SubType;
import io.asyncify4j.wasm.model.ValType;
import io.asyncify4j.wasm.testutil.Ir;
import io.asyncify4j.wasm.testutil.Wat;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Live locals, params and operand-stack values of every value type across suspensions, deep in
 * recursion: numbers, funcref, externref, typed references (nullable and not), and v128 (saved through
 * the host imports, since Endive 1.0.x's interpreter runs no SIMD instructions: v128 values only travel
 * through locals, params, select and calls here).
 */
// A mis-transformed loop can spin forever instead of failing: bound every test.
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ValueTypesTest {

    static final String ALL_TYPES = """
            (module
              (import "env" "io" (func $io (param i32) (result i32)))
              (import "env" "ext" (func $ext (param i32) (result externref)))
              (import "env" "take_ext" (func $take_ext (param externref) (result i32)))
              (import "env" "vec" (func $vec (param i32) (result v128)))
              (import "env" "take_vec" (func $take_vec (param v128) (result i32)))
              (type $t (func (param i32) (result i32)))
              (table $tab 1 funcref)
              (func $fa (type $t) (i32.add (local.get 0) (i32.const 1000)))
              (func $fb (type $t) (i32.mul (local.get 0) (i32.const 3)))
              (elem declare func $fa $fb)
              (func $deep (param $n i32) (param $a i64) (param $b f32) (param $c f64)
                          (param $e externref) (param $f funcref) (param $v v128) (result i64)
                (local $li i32) (local $la i64) (local $lb f32) (local $lc f64)
                (local $le externref) (local $lf funcref) (local $lv v128) (local $r i64)
                (local $tf funcref) (local $k i32)
                (local.set $li (i32.mul (local.get $n) (i32.const 7)))
                (local.set $la (i64.add (local.get $a) (i64.const 11)))
                (local.set $lb (f32.mul (local.get $b) (f32.const 1.5)))
                (local.set $lc (f64.sub (local.get $c) (f64.const 0.25)))
                (local.set $le (call $ext (local.get $n)))
                (local.set $lf (select (result funcref) (ref.func $fa) (ref.func $fb)
                  (i32.and (local.get $n) (i32.const 1))))
                (local.set $lv (select (result v128) (call $vec (local.get $n)) (local.get $v)
                  (i32.and (local.get $n) (i32.const 2))))
                ;; a value of every type on the operand stack across the recursive call
                (i64.const 3)
                (f32.const 2)
                (f64.const 4)
                (local.get $v)
                (local.get $e)
                (local.get $f)
                (local.set $r
                  (if (result i64) (local.get $n)
                    (then (call $deep (i32.sub (local.get $n) (i32.const 1))
                      (local.get $la) (local.get $lb) (local.get $lc) (local.get $le) (local.get $lf) (local.get $lv)))
                    (else (i64.extend_i32_u (call $io (i32.const 0))))))
                (local.set $tf)
                (call $take_ext)
                (local.set $k)
                (call $take_vec)
                (local.get $k) (i32.add)
                (f64.convert_i32_s) (f64.add)
                (f32.demote_f64) (f32.add)
                (i64.trunc_sat_f32_s) (i64.add)
                ;; every local and param after the call
                (i64.add (local.get $r))
                (i64.add (i64.extend_i32_s (local.get $li)))
                (i64.add (local.get $la))
                (i64.add (i64.trunc_sat_f32_s (local.get $lb)))
                (i64.add (i64.trunc_sat_f64_s (local.get $lc)))
                (i64.add (i64.extend_i32_s (call $take_ext (local.get $le))))
                (i64.add (i64.extend_i32_s (call $take_vec (local.get $lv))))
                (table.set $tab (i32.const 0) (local.get $lf))
                (i64.add (i64.extend_i32_s (call_indirect (type $t) (local.get $n) (i32.const 0))))
                (table.set $tab (i32.const 0) (local.get $tf))
                (i64.add (i64.extend_i32_s (call_indirect (type $t) (local.get $n) (i32.const 0))))
                (i64.add (local.get $a))
                (i64.add (i64.trunc_sat_f32_s (local.get $b)))
                (i64.add (i64.trunc_sat_f64_s (local.get $c)))
                (i64.add (i64.extend_i32_s (call $take_ext (local.get $e))))
                (i64.add (i64.extend_i32_s (call $take_vec (local.get $v)))))
              (func (export "run") (param $n i32) (result i64)
                (call $deep (local.get $n) (i64.const 1234567890123) (f32.const 0.5) (f64.const 1e6)
                  (call $ext (i32.const -1)) (ref.func $fb) (call $vec (i32.const -2)))))
            """;

    @Test
    void everyValueTypeInLocalsParamsAndOnTheStackAcrossSuspensions() {
        byte[] wasm = Wat.wat(ALL_TYPES);
        List<Guest.Run> runs = assertSameAsPlainWithChaos(wasm, "run", args(0), args(1), args(6), args(25));
        assertThat(runs.get(3).outcome().failure()).isNull();
        // Each level hands its host handles and vectors back to the host after resuming.
        assertThat(runs.get(3).log()).filteredOn(s -> s.startsWith("env.take_vec")).hasSize(26 * 3);
    }

    @Test
    void v128HalvesKeepTheirOrderThroughTheHostSaveAndRestore() {
        // The engine's local.set quirk aside (see Guest.Host#exactV128), a transformed module must hand the
        // host the same halves in the same order whether or not it was suspended: this pins the order the
        // v128 store/load imports save and restore them in.
        byte[] transformed = Asyncify.transform(Wat.wat(ALL_TYPES), Guest.driverOptions().build());
        long[][] argLists = {args(0), args(3), args(9)};
        Guest.Host exact = new Guest.Host();
        exact.exactV128 = true;
        List<Guest.Run> never = Guest.driven(transformed, SuspendPolicy.never(), exact,
                "run", argLists);
        for (SuspendPolicy p : List.of(SuspendPolicy.always(),
                Guest.random(7, 0.5))) {
            Guest.Host h = new Guest.Host();
            h.exactV128 = true;
            List<Guest.Run> runs = Guest.driven(transformed, p, h, "run", argLists);
            for (int i = 0; i < argLists.length; i++) {
                assertThat(runs.get(i).outcome()).isEqualTo(never.get(i).outcome());
                assertThat(runs.get(i).log()).isEqualTo(never.get(i).log());
            }
        }
        assertThat(never.get(2).log()).anyMatch(l -> l.startsWith("env.take_vec"));
    }

    /** v128 params, locals, results of instrumented functions, and select, across suspensions. */
    static final String V128 = """
            (module
              (import "env" "vec" (func $vec (param i32) (result v128)))
              (import "env" "take" (func $take (param v128 i64) (result i32)))
              (func $pass (param $v v128) (param $n i32) (result v128)
                (local $keep v128)
                (local.set $keep (local.get $v))
                (if (result v128) (local.get $n)
                  (then (call $pass (call $vec (local.get $n)) (i32.sub (local.get $n) (i32.const 1))))
                  (else (select (local.get $keep) (local.get $v) (i32.const 1)))))
              (func (export "run") (param $n i32) (result i32)
                (call $take (call $pass (call $vec (i32.const -1)) (local.get $n)) (i64.const 5))))
            """;

    @Test
    void v128ResultsOfInstrumentedFunctions() {
        // $pass returns a v128 and unwinds through itself: its placeholder result comes from the host
        // import (no v128.const without SIMD), and the real one from the rewound call.
        byte[] wasm = Wat.wat(V128);
        assertSameAsPlainWithChaos(wasm, "run", args(0), args(1), args(5));
        byte[] transformed = Asyncify.transform(wasm, Guest.driverOptions().build());
        long[][] argLists = {args(0), args(5)};
        Guest.Host exact = new Guest.Host();
        exact.exactV128 = true;
        List<Guest.Run> never = Guest.driven(transformed, SuspendPolicy.never(), exact, "run", argLists);
        Guest.Host exact2 = new Guest.Host();
        exact2.exactV128 = true;
        List<Guest.Run> always = Guest.driven(transformed, SuspendPolicy.always(), exact2, "run", argLists);
        assertThat(always).extracting(Guest.Run::log).isEqualTo(never.stream().map(Guest.Run::log).toList());
        assertThat(always).extracting(Guest.Run::outcome).isEqualTo(never.stream().map(Guest.Run::outcome).toList());
    }

    @Test
    void hostHandlesAndVectorsComeBackUnchanged() {
        // Not only equal between the runs: the handle the host gave out is the one it gets back.
        Guest.Run plain = Guest.plain(Wat.wat(ALL_TYPES), "run", args(2)).get(0);
        List<String> log = plain.log();
        assertThat(log.get(0)).isEqualTo("env.ext[-1]");
        assertThat(log).contains("env.take_ext[1001]"); // the handle made by the first call
        Guest.Run driven = Guest.driven(Asyncify.transform(Wat.wat(ALL_TYPES), Guest.driverOptions().build()),
                SuspendPolicy.always(), "run", args(2)).get(0);
        assertThat(driven.log()).isEqualTo(log);
        assertThat(driven.suspensions()).isEqualTo(log.size());
    }

    @Test
    void typedReferencesNullableAndNonNullableAcrossSuspensions() {
        ModuleModel m = new ModuleModel();
        int t = m.internFuncType(FuncType.of(types(I32), types(I32))); // 0
        m.recGroups().add(new RecGroup(List.of(SubType.plain(new StructType(List.of(new FieldType(I32, true))))),
                false)); // 1: struct { mut i32 }
        int s = 1;
        m.imports().add(Import.function("env", "io", t));
        ValType refT = ValType.ref(false, t);
        ValType nullT = ValType.ref(true, t);
        ValType refS = ValType.ref(false, s);
        ValType nullS = ValType.ref(true, s);
        ValType anyref = ValType.ref(true, HeapType.ANY);
        ValType i31 = ValType.ref(false, HeapType.I31);
        int inc = func(m, types(I32), types(I32), types(), get(0), i32(1), op(Opcode.I32_ADD));
        int tripleIo = func(m, types(I32), types(I32), types(), get(0), op(Opcode.CALL, 0), i32(3), op(Opcode.I32_MUL));
        // $deep(n, g: (ref $t), h: (ref null $t)) -> i32; locals: 3 (ref $t), 4 (ref null $t), 5 (ref $s),
        // 6 (ref null $s), 7 anyref, 8 (ref i31), 9 r: i32, 10 (ref null $t)
        int deep = m.functionCount();
        m.functions().add(new Function(
                m.internFuncType(FuncType.of(types(I32, refT, nullT), types(I32))),
                new ArrayList<>(List.of(refT, nullT, refS, nullS, anyref, i31, I32, nullT)), seq(
                op(Opcode.REF_FUNC, tripleIo), set(3),
                get(0), i32(1), op(Opcode.I32_AND),
                ifElse(BlockType.of(nullT), seq(op(Opcode.REF_NULL, t)), seq(get(1))), set(4),
                get(0), op(Opcode.STRUCT_NEW, s), set(5),
                op(Opcode.REF_NULL, s), set(6),
                get(0), i32(100), op(Opcode.I32_ADD), op(Opcode.REF_I31), set(7),
                get(0), op(Opcode.REF_I31), set(8),
                // non-null references on the operand stack across the call: a struct and a function
                get(5), get(1),
                get(0),
                ifElse(BlockType.of(I32),
                        seq(get(0), i32(1), op(Opcode.I32_SUB), get(3), get(4), op(Opcode.CALL, deep)),
                        seq(i32(7), op(Opcode.CALL, 0))),
                set(9),
                set(10),
                op(Opcode.STRUCT_GET, s, 0),
                get(9), op(Opcode.I32_ADD),
                get(9), get(10), op(Opcode.CALL_REF, t), op(Opcode.I32_ADD),
                // every local and param after the call
                i32(5), get(3), op(Opcode.CALL_REF, t), op(Opcode.I32_ADD),
                get(4), op(Opcode.REF_IS_NULL),
                ifElse(BlockType.of(I32), seq(i32(-1)), seq(i32(11), get(4), op(Opcode.CALL_REF, t))),
                op(Opcode.I32_ADD),
                get(5), op(Opcode.STRUCT_GET, s, 0), i32(1000), op(Opcode.I32_MUL), op(Opcode.I32_ADD),
                get(6), op(Opcode.REF_IS_NULL), op(Opcode.I32_ADD),
                get(7), op(Opcode.REF_CAST, HeapType.I31), op(Opcode.I31_GET_S), op(Opcode.I32_ADD),
                get(8), op(Opcode.I31_GET_U), i32(10), op(Opcode.I32_MUL), op(Opcode.I32_ADD),
                get(2), op(Opcode.REF_IS_NULL), i32(100), op(Opcode.I32_MUL), op(Opcode.I32_ADD),
                i32(13), get(1), op(Opcode.CALL_REF, t), op(Opcode.I32_ADD),
                get(2), op(Opcode.REF_IS_NULL),
                ifElse(BlockType.of(I32), seq(i32(-2)), seq(i32(17), get(2), op(Opcode.CALL_REF, t))),
                op(Opcode.I32_ADD))));
        int run = func(m, types(I32), types(I32), types(),
                get(0), op(Opcode.REF_FUNC, inc), op(Opcode.REF_FUNC, tripleIo), op(Opcode.CALL, deep));
        export(m, "run", run);
        m.elements().add(new ElementSegment(SegmentMode.DECLARATIVE, 0, null, ValType.FUNCREF,
                List.of(inc, tripleIo), null, true));
        byte[] wasm = Guest.encode(m);
        List<Guest.Run> runs = assertSameAsPlainWithChaos(wasm, "run", args(0), args(1), args(4), args(15));
        assertThat(runs).allSatisfy(r -> assertThat(r.outcome().failure()).isNull());
    }

    /** Reference types without typed references: ref.func values on the stack across suspensions. */
    static final String REFERENCE_TYPES_ONLY = """
            (module
              (import "env" "io" (func $io (param i32) (result i32)))
              (type $t (func (param i32) (result i32)))
              (table $tab 2 funcref)
              (memory 1)
              (func $g (type $t) (i32.add (local.get 0) (i32.const 41)))
              (func $h (type $t) (i32.mul (local.get 0) (i32.const 3)))
              (elem declare func $g $h)
              (func (export "run") (param $x i32) (result i32)
                (table.set $tab (i32.const 0)
                  (block (result funcref)
                    (ref.func $g)
                    (drop (call $io (local.get $x)))))
                (table.set $tab (i32.const 1)
                  (select (result funcref) (ref.func $h) (ref.null func) (call $io (i32.const 2))))
                (i32.add
                  (call_indirect (type $t) (call $io (local.get $x)) (i32.const 0))
                  (if (result i32) (ref.is_null (table.get $tab (i32.const 1)))
                    (then (i32.const -1))
                    (else (call_indirect (type $t) (local.get $x) (i32.const 1)))))))
            """;

    @Test
    void referenceTypesModuleNeedsNoTypedReferencesAfterTheTransform() {
        // Regression: ref.func pushes a (ref $t); spilled across a call it went into a (ref null $t) local,
        // read back with ref.as_non_null and restored with ref.cast: function-references and GC
        // instructions in the output of a module that used neither, which engines without them reject.
        byte[] wasm = Wat.wat(REFERENCE_TYPES_ONLY);
        assertSameAsPlainWithChaos(wasm, "run", args(0), args(1), args(7));
        for (AsyncifyOptions options : List.of(AsyncifyOptions.defaults(), Guest.driverOptions().build())) {
            ModuleModel out = WasmCodec.decode(Asyncify.transform(wasm, options));
            for (Function f : out.functions()) {
                assertThat(f.locals()).allSatisfy(t -> assertThat(!t.isRef() || (t.nullable() && t.heapType() < 0))
                        .as("local type %s", t).isTrue());
                assertThat(Ir.flatten(f.body())).noneMatch(in ->
                        in.opcode() == Opcode.REF_AS_NON_NULL || in.opcode() == Opcode.REF_CAST
                        || in.opcode() == Opcode.REF_CAST_NULL);
            }
        }
    }

    /** {@code (func $user (param (ref $t)) ...)} calling io, then the param; and a caller passing ref.func. */
    private static byte[] nonNullParamModule() {
        ModuleModel m = new ModuleModel();
        int t = m.internFuncType(FuncType.of(types(I32), types(I32)));
        m.imports().add(Import.function("env", "io", t));
        ValType refT = ValType.ref(false, t);
        int twice = func(m, types(I32), types(I32), types(), get(0), i32(2), op(Opcode.I32_MUL));
        int user = func(m, types(I32, refT), types(I32), types(),
                get(0), op(Opcode.CALL, 0), get(1), op(Opcode.CALL_REF, t));
        int run = func(m, types(I32), types(I32), types(),
                get(0), op(Opcode.REF_FUNC, twice), op(Opcode.CALL, user));
        export(m, "run", run);
        m.elements().add(new ElementSegment(SegmentMode.DECLARATIVE, 0, null, ValType.FUNCREF, List.of(twice), null,
                true));
        return Guest.encode(m);
    }

    @Test
    void nonNullableReferenceParamIsRestoredOnRewind() {
        // Regression: the rewind prologue restored a (ref $t) param with a nullable value: invalid module.
        byte[] transformed = Asyncify.transform(nonNullParamModule(), Guest.driverOptions().build());
        Guest.parse(transformed); // validates
        assertSameAsPlain(nonNullParamModule(), "run", args(5), args(-1));
    }

    @Test
    void nonNullableArgumentOfASuspendingCallIsKeptForTheRewind() {
        // Regression: the caller's spilled (ref $t) argument was not in its frame, so on rewind the call
        // site re-asserted a null local (ref.as_non_null trapped) although the callee ignores it.
        List<Guest.Run> runs = assertSameAsPlain(nonNullParamModule(), "run", args(5));
        assertThat(runs.get(0).outcome().results()).isNotEmpty();
    }

    @Test
    void functionReturningANonNullableReferenceIsRejectedWithItsName() {
        ModuleModel m = new ModuleModel();
        int t = m.internFuncType(FuncType.of(types(I32), types(I32)));
        m.imports().add(Import.function("env", "io", t));
        int f = func(m, types(I32), types(ValType.ref(false, t)), types(),
                get(0), op(Opcode.CALL, 0), op(Opcode.DROP), op(Opcode.REF_FUNC, 0));
        m.setNames(new NameSection());
        m.names().functionNames().put(f, "makesRef");
        m.elements().add(new ElementSegment(SegmentMode.DECLARATIVE, 0, null, ValType.FUNCREF, List.of(0), null,
                true));
        byte[] wasm = Guest.encode(m);
        assertThatThrownBy(() -> Asyncify.transform(wasm, Guest.driverOptions().build()))
                .isInstanceOf(AsyncifyException.class).hasMessageContaining("$makesRef")
                .hasMessageContaining("non-nullable");
    }
}
