package io.asyncify4j.asyncify;

import static io.asyncify4j.asyncify.Guest.args;
import static io.asyncify4j.asyncify.Guest.assertSameAsPlain;
import static io.asyncify4j.asyncify.Guest.assertSameAsPlainWithChaos;
import static io.asyncify4j.wasm.model.ValType.I32;
import static io.asyncify4j.wasm.testutil.Ir.export;
import static io.asyncify4j.wasm.testutil.Ir.func;
import static io.asyncify4j.wasm.testutil.Ir.get;
import static io.asyncify4j.wasm.testutil.Ir.i32;
import static io.asyncify4j.wasm.testutil.Ir.op;
import static io.asyncify4j.wasm.testutil.Ir.set;
import static io.asyncify4j.wasm.testutil.Ir.types;
import static org.assertj.core.api.Assertions.assertThat;

import io.asyncify4j.engine.SuspendPolicy;
import io.asyncify4j.wasm.ir.BlockType;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.model.ElementSegment;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Function;
import io.asyncify4j.wasm.model.Import;
import io.asyncify4j.wasm.model.Limits;
import io.asyncify4j.wasm.model.MemoryType;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.SegmentMode;
import io.asyncify4j.wasm.model.ValType;
import io.asyncify4j.wasm.testutil.Ir;
import io.asyncify4j.wasm.testutil.Wat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** call_indirect, call_ref, and tail calls (return_call, return_call_indirect) that may unwind. */
// A mis-transformed loop can spin forever instead of failing: bound every test.
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class IndirectAndTailCallsTest {

    @Test
    void callIndirectRewindCallsTheSameFunctionEvenWhenTheSelectorChanged() {
        // The selector comes from an import (a different value on every call) or from a local overwritten
        // after the call: a rewind that re-evaluated it would call another function.
        byte[] wasm = Wat.wat("""
                (module
                  (import "env" "io" (func $io (param i32) (result i32)))
                  (type $t (func (param i32) (result i32)))
                  (table 4 funcref)
                  (memory 1)
                  (elem (i32.const 0) $a $b $c $d)
                  (func $a (type $t) (i32.add (call $io (local.get 0)) (i32.const 1)))
                  (func $b (type $t) (i32.mul (call $io (local.get 0)) (i32.const 2)))
                  (func $c (type $t) (i32.sub (i32.const 0) (call $io (i32.add (local.get 0) (i32.const 1)))))
                  (func $d (type $t) (i32.xor (local.get 0) (i32.const 0x55)))
                  (func (export "run") (param $x i32) (result i32)
                    (local $sel i32)
                    (local.set $sel (i32.and (local.get $x) (i32.const 3)))
                    (i32.const 100)
                    (call_indirect (type $t) (local.get $x) (local.get $sel))
                    (local.set $sel (i32.add (local.get $sel) (i32.const 1)))
                    (i32.add)
                    (call_indirect (type $t) (local.get $sel)
                      (i32.and (call $io (local.get $x)) (i32.const 3)))
                    (i32.add)
                    (local.get $sel)
                    (i32.add)))
                """);
        for (long x = 0; x < 8; x++) {
            assertSameAsPlainWithChaos(wasm, "run", args(x));
        }
    }

    @Test
    void callRefRewindCallsTheSameFunction() {
        ModuleModel m = new ModuleModel();
        int t = m.internFuncType(FuncType.of(types(I32), types(I32)));
        m.imports().add(Import.function("env", "io", t));
        m.memories().add(new MemoryType(new Limits(1, -1, false, false)));
        int a = func(m, types(I32), types(I32), types(), get(0), op(Opcode.CALL, 0), i32(1), op(Opcode.I32_ADD));
        int b = func(m, types(I32), types(I32), types(), get(0), op(Opcode.CALL, 0), i32(3), op(Opcode.I32_MUL));
        ValType refT = ValType.ref(true, t);
        ValType nonNullT = ValType.ref(false, t);
        // locals: 1 = f (nullable), 2 = s, 3 = g. f and g are picked by import results; f is overwritten
        // right after it is called, g travels on the operand stack (non-null) across two suspensions.
        int run = func(m, types(I32), types(I32), types(refT, I32, refT),
                get(0), op(Opcode.CALL, 0), i32(1), op(Opcode.I32_AND),
                Ir.ifElse(BlockType.of(nonNullT), Ir.seq(op(Opcode.REF_FUNC, a)), Ir.seq(op(Opcode.REF_FUNC, b))),
                set(1),
                get(0), i32(5), op(Opcode.I32_ADD), op(Opcode.CALL, 0), i32(1), op(Opcode.I32_AND),
                Ir.ifElse(BlockType.of(nonNullT), Ir.seq(op(Opcode.REF_FUNC, b)), Ir.seq(op(Opcode.REF_FUNC, a))),
                i32(7),
                get(0), get(1), op(Opcode.CALL_REF, t),
                op(Opcode.REF_NULL, t), set(1),
                op(Opcode.I32_ADD),
                op(Opcode.CALL, 0),
                set(2), set(3),
                get(2), get(0), i32(1), op(Opcode.I32_ADD), get(3), op(Opcode.CALL_REF, t),
                op(Opcode.I32_ADD));
        m.elements().add(new ElementSegment(SegmentMode.DECLARATIVE, 0, null, ValType.FUNCREF, List.of(a, b), null,
                true));
        export(m, "run", run);
        byte[] wasm = Guest.encode(m);
        for (long x = 0; x < 6; x++) {
            assertSameAsPlainWithChaos(wasm, "run", args(x));
        }
    }

    @Test
    void returnCallRefToAMayUnwindCallee() {
        ModuleModel m = new ModuleModel();
        int io = m.internFuncType(FuncType.of(types(I32), types(I32)));
        m.imports().add(Import.function("env", "io", io));
        int t = m.internFuncType(FuncType.of(types(I32, I32), types(I32)));
        // $count(n, acc): n == 0 ? acc : return_call_ref $count(n - 1, acc + (n % 10 == 0 ? io(n) : 0))
        int count = m.functionCount();
        m.functions().add(new Function(t, List.of(), Ir.seq(
                get(0), op(Opcode.I32_EQZ),
                Ir.ifElse(BlockType.of(I32), Ir.seq(get(1)), Ir.seq(
                        get(0), i32(10), op(Opcode.I32_REM_U), op(Opcode.I32_EQZ),
                        Ir.ifElse(BlockType.EMPTY, Ir.seq(get(1), get(0), op(Opcode.CALL, 0), op(Opcode.I32_ADD),
                                set(1)), Ir.seq()),
                        get(0), i32(1), op(Opcode.I32_SUB), get(1), op(Opcode.REF_FUNC, count),
                        op(Opcode.RETURN_CALL_REF, t))))));
        int run = func(m, types(I32), types(I32), types(), get(0), i32(7), op(Opcode.CALL, count));
        export(m, "run", run);
        m.elements().add(new ElementSegment(SegmentMode.DECLARATIVE, 0, null, ValType.FUNCREF, List.of(count), null,
                true));
        List<Guest.Run> runs = assertSameAsPlainWithChaos(Guest.encode(m), "run", args(0), args(9), args(200));
        assertThat(runs.get(2).log()).hasSize(20);
    }

    static final String TAIL = """
            (module
              (import "env" "io64" (func $io64 (param i64) (result i64)))
              (type $t (func (param i32 i64) (result i64)))
              (table 2 funcref)
              (elem (i32.const 0) $even $odd)
              ;; mutual tail recursion, suspending every 1000 steps
              (func $loop (param $n i32) (param $acc i64) (result i64)
                (if (result i64) (i32.eqz (local.get $n))
                  (then (local.get $acc))
                  (else
                    (return_call $step (i32.sub (local.get $n) (i32.const 1))
                      (i64.add (local.get $acc) (i64.extend_i32_u (local.get $n)))))))
              (func $step (param $n i32) (param $acc i64) (result i64)
                (if (i32.eqz (i32.rem_u (local.get $n) (i32.const 1000)))
                  (then (local.set $acc (i64.xor (local.get $acc) (call $io64 (local.get $acc))))))
                (return_call $loop (local.get $n) (local.get $acc)))
              (func (export "mutual") (param $n i32) (result i64)
                (call $loop (local.get $n) (i64.const 0)))
              ;; self tail recursion (no declared locals: Endive 1.0.x's interpreter mis-runs a self tail call in a
              ;; function that has some; the transform adds locals and must cope)
              (func $self (param $n i32) (param $acc i64) (result i64)
                (if (i32.eqz (i32.rem_u (local.get $n) (i32.const 1000)))
                  (then (local.set $acc (i64.add (local.get $acc) (call $io64 (i64.extend_i32_u (local.get $n)))))))
                (if (result i64) (i32.eqz (local.get $n))
                  (then (local.get $acc))
                  (else
                    (return_call $self (i32.sub (local.get $n) (i32.const 1))
                      (i64.mul (local.get $acc) (i64.const 3))))))
              (func (export "self") (param $n i32) (result i64)
                (call $self (local.get $n) (i64.const 1)))
              ;; indirect tail recursion through the table
              (func $even (type $t)
                (if (result i64) (i32.eqz (local.get 0))
                  (then (local.get 1))
                  (else
                    (if (i32.eqz (i32.rem_u (local.get 0) (i32.const 1000)))
                      (then (local.set 1 (i64.add (local.get 1) (call $io64 (local.get 1))))))
                    (return_call_indirect (type $t) (i32.sub (local.get 0) (i32.const 1))
                      (i64.add (local.get 1) (i64.const 2)) (i32.const 1)))))
              (func $odd (type $t)
                (if (result i64) (i32.eqz (local.get 0))
                  (then (local.get 1))
                  (else
                    (return_call_indirect (type $t) (i32.sub (local.get 0) (i32.const 1))
                      (i64.mul (local.get 1) (i64.const 5)) (i32.const 0)))))
              (func (export "indirect") (param $n i32) (result i64)
                (i64.add (i64.const 1) (call_indirect (type $t) (local.get $n) (i64.const 1) (i32.const 0)))))
            """;

    @Test
    void deepTailRecursionToAMayUnwindCalleeRunsInConstantStack() {
        byte[] wasm = Wat.watAll(TAIL);
        byte[] transformed = Asyncify.transform(wasm, Guest.driverOptions().build());
        int depth = 100_000;
        Map<String, Integer> ioCalls = Map.of("mutual", 100, "self", 101, "indirect", 100);
        for (String export : List.of("mutual", "self", "indirect")) {
            // 100000 nested wasm calls would need far more than 2 MB of Java stack (~1000 fit in 1 MB).
            Guest.Run plain = onSmallStack(() -> Guest.plain(wasm, export, args(depth)).get(0));
            Guest.Run driven = onSmallStack(() -> Guest.driven(transformed, SuspendPolicy.always(), export,
                    args(depth)).get(0));
            assertThat(plain.outcome().failure()).as(export).isNull();
            assertThat(driven.outcome()).as(export).isEqualTo(plain.outcome());
            assertThat(driven.log()).as(export).isEqualTo(plain.log()).hasSize(ioCalls.get(export));
            assertThat(driven.suspensions()).isEqualTo((long) ioCalls.get(export));
        }
        // Small depths, with suspensions everywhere (chaos) and at random.
        for (String export : List.of("mutual", "self", "indirect")) {
            assertSameAsPlainWithChaos(wasm, export, args(0), args(1), args(2), args(2001));
        }
    }

    @Test
    void tailCallsAcrossSuspensionsAlsoWithTheDefaultOptions() {
        byte[] wasm = Wat.watAll(TAIL.replace("(table 2 funcref)", "(table 2 funcref) (memory 1)"));
        assertSameAsPlain(wasm, AsyncifyOptions.builder().dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY)
                .importState(true).build(), "mutual", args(5000));
        assertSameAsPlain(wasm, Guest.driverOptions().build(), "indirect", args(5000));
    }

    static <T> T onSmallStack(Supplier<T> body) {
        AtomicReference<T> out = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(null, () -> {
            try {
                out.set(body.get());
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "small-stack", 2L << 20);
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        return out.get();
    }
}
