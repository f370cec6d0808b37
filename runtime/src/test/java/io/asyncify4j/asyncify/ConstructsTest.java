package io.asyncify4j.asyncify;

import static io.asyncify4j.asyncify.Guest.args;
import static io.asyncify4j.asyncify.Guest.assertSameAsPlain;
import static io.asyncify4j.asyncify.Guest.assertSameAsPlainWithChaos;
import static org.assertj.core.api.Assertions.assertThat;

import io.asyncify4j.wasm.testutil.Wat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Control constructs with a suspension at the interesting point, each compared with the untransformed
 * run (see {@link Guest#assertSameAsPlain}).
 */
// A mis-transformed loop can spin forever instead of failing: bound every test.
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ConstructsTest {
    private static final String IMPORTS = """
              (import "env" "io" (func $io (param i32) (result i32)))
              (import "env" "io64" (func $io64 (param i64) (result i64)))
              (import "env" "tick" (func $tick))
              (memory 1)
            """;

    private static byte[] module(String body) {
        return Wat.wat("(module\n" + IMPORTS + body + ")");
    }

    @Test
    void operandStackValuesAcrossCallsInCurrentAndEnclosingBlocks() {
        byte[] wasm = module("""
                  (func (export "run") (param $x i32) (result i64)
                    (i64.const 1000000000000)
                    (f64.const 2.5)
                    (block (result i64)
                      (i32.const 7)
                      (f32.const 1.25)
                      (loop (result i32)
                        (i64.const -3)
                        (if (result i32) (local.get $x)
                          (then
                            (i32.const 11)
                            (block (result i32)
                              (f64.const 0.5)
                              (i32.const 13)
                              (call $io (local.get $x))
                              (call $io (i32.const 5))
                              (i32.sub)
                              (i32.mul)
                              (f64.convert_i32_s)
                              (f64.add)
                              (i32.trunc_sat_f64_s))
                            (i32.mul))
                          (else (call $io (i32.const 99))))
                        (i64.extend_i32_s)
                        (i64.add)
                        (i32.wrap_i64))
                      (call $io)
                      (f32.convert_i32_s)
                      (f32.add)
                      (i32.trunc_sat_f32_s)
                      (i32.add)
                      (i64.extend_i32_s))
                    (f64.convert_i64_s)
                    (f64.add)
                    (i64.trunc_sat_f64_s)
                    (i64.add))
                """);
        List<Guest.Run> runs = assertSameAsPlainWithChaos(wasm, "run", args(0), args(1), args(12345));
        assertThat(runs.get(1).log()).hasSize(3);
    }

    @Test
    void callSitesInALoopResumeAtTheirOwnSiteThroughTheirExitBlocks() {
        // $body runs more than once (called in a loop), so it has a running copy; its calls sit in a
        // loop, so each gets an exit block there that records its index when the callee unwinds.
        byte[] wasm = module("""
                  (func $body (param $n i32) (result i32) (local $acc i32)
                    (local.set $acc (call $io (i32.const 100)))
                    (loop $l
                      (local.set $acc (i32.add (local.get $acc) (call $io (local.get $n))))
                      (call $tick)
                      (local.set $acc (i32.xor (local.get $acc) (call $io (i32.mul (local.get $n) (i32.const 3)))))
                      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                      (br_if $l (i32.gt_s (local.get $n) (i32.const 0))))
                    (local.get $acc))
                  (func (export "run") (param $reps i32) (result i32) (local $sum i32)
                    (loop $r
                      (local.set $sum (i32.add (local.get $sum) (call $body (local.get $reps))))
                      (local.set $reps (i32.sub (local.get $reps) (i32.const 1)))
                      (br_if $r (i32.gt_s (local.get $reps) (i32.const 0))))
                    (local.get $sum))
                """);
        assertSameAsPlainWithChaos(wasm, "run", args(1), args(4));
    }

    @Test
    void valuesBelowCallArgumentsAndCallResultsStayInPlace() {
        // Several values below a call's arguments, and a call whose arguments are themselves call results.
        byte[] wasm = module("""
                  (func $three (param i32 i64 i32) (result i32 i64)
                    (i32.add (call $io (local.get 0)) (local.get 2))
                    (i64.add (local.get 1) (call $io64 (local.get 1))))
                  (func (export "run") (param $x i32) (result i64)
                    (local $a i32)
                    (i64.const 5)
                    (i32.const 1)
                    (call $three (call $io (local.get $x)) (call $io64 (i64.const 9)) (i32.const 4))
                    (i64.const 77) (i64.xor) (i32.wrap_i64)
                    (i32.add)
                    (i32.add)
                    (local.set $a)
                    (i64.extend_i32_u (local.get $a))
                    (i64.mul)
                    (i64.add (call $io64 (i64.extend_i32_u (local.get $x)))))
                """);
        assertSameAsPlainWithChaos(wasm, "run", args(3), args(-8));
    }

    @Test
    void multiValueBlocksLoopsAndIfsWithParamsAndResults() {
        byte[] wasm = module("""
                  (type $bt (func (param i32 i64) (result i64 i32)))
                  (func (export "run") (param $x i32) (result i64)
                    (local $l i64) (local $m i32) (local $i i32)
                    (local.get $x)
                    (i64.const 40)
                    (block (type $bt)
                      (call $io64)
                      (local.set $l)
                      (call $io)
                      (local.set $m)
                      (local.get $l)
                      (local.get $m))
                    ;; [i64 i32]
                    (if (param i64 i32) (result i64 i32) (i32.and (local.get $x) (i32.const 1))
                      (then (call $io) (local.set $m) (call $io64) (local.get $m))
                      (else (i32.const 3) (i32.mul) (local.set $m) (i64.const 2) (i64.mul) (local.get $m)
                            (call $tick)))
                    ;; loop with params carrying (acc, value) around several iterations
                    (loop (param i64 i32) (result i64 i32)
                      (local.set $m)
                      (i64.extend_i32_u (local.get $m)) (i64.add) (call $io64)
                      (i32.add (local.get $m) (call $io (local.get $i)))
                      (local.set $i (i32.add (local.get $i) (i32.const 1)))
                      (br_if 0 (i32.lt_u (local.get $i) (i32.const 3))))
                    (i64.extend_i32_u)
                    (i64.add))
                """);
        assertSameAsPlainWithChaos(wasm, "run", args(0), args(1), args(6));
    }

    @Test
    void valuesHeldAcrossCallsInsideBlocksWithParamsKeepTheirLocals() {
        // The transform's temps are shared in program order: a statement's temps are free again after it,
        // so the block's entry local and the values held across the calls inside it (of the same types as
        // the statement's before it) may take them. A rewind into the block writes its entry local again,
        // so that one must be no value's held across a call inside the block; and ifs with params too.
        byte[] wasm = module("""
                  (func (export "run") (param $x i32) (result i64) (local $r i64)
                    (drop (i32.add (i32.add (local.get $x) (call $io (i32.const 1))) (call $io (i32.const 2))))
                    (local.set $r (i64.add (i64.extend_i32_u (local.get $x)) (call $io64 (i64.const 3))))
                    (i32.add (local.get $x) (i32.const 5))
                    (block (param i32) (result i32)
                      (i32.mul (i32.const 7))
                      (call $io (i32.const 8))
                      (i32.add (call $io (i32.const 9)))
                      (i32.sub)
                      (i64.extend_i32_u (local.get $x))
                      (call $io64 (i64.const 10))
                      (i64.add)
                      (i32.wrap_i64)
                      (i32.add))
                    (i32.add (local.get $x) (call $io (i32.const 11)))
                    (if (param i32 i32) (result i32) (i32.and (local.get $x) (i32.const 1))
                      (then (i32.add) (i32.mul (call $io (i32.const 12))))
                      (else (i32.sub) (i32.add (call $io (i32.const 13))) (i32.add (call $io (i32.const 14)))))
                    (i64.extend_i32_u)
                    (i64.add (local.get $r)))
                """);
        assertSameAsPlainWithChaos(wasm, "run", args(0), args(1), args(6));
    }

    @Test
    void factorialSsaLoopKeepsItsParamsAcrossRewinds() {
        // fac-ssa from the spec testsuite (fac.wast): the loop's params carry the whole iteration state.
        // With a suspension point at the loop header and in the helpers, a rewind re-enters the loop and
        // must not clobber the params it carries (they were once overwritten with garbage on re-entry).
        byte[] wasm = module("""
                  (func $pick0 (param i64) (result i64 i64)
                    (local.get 0) (local.get 0))
                  (func $pick1 (param i64 i64) (result i64 i64 i64)
                    (local.get 0) (local.get 1) (local.get 0))
                  (func (export "fac-ssa") (param i64) (result i64)
                    (i64.const 1) (local.get 0)
                    (loop $l (param i64 i64) (result i64)
                      (call $pick1) (call $pick1) (i64.mul)
                      (call $pick1) (i64.const 1) (i64.sub)
                      (call $pick0) (i64.const 0) (i64.gt_u)
                      (br_if $l)
                      (drop) (return)))
                  (func (export "fac-ssa-io") (param i64) (result i64)
                    (i64.const 1) (local.get 0)
                    (loop $l (param i64 i64) (result i64)
                      (call $tick)
                      (call $pick1) (call $pick1) (i64.mul)
                      (call $tick)
                      (call $pick1) (i64.const 1) (call $io64) (drop) (i64.const 1) (i64.sub)
                      (call $pick0) (i64.const 0) (i64.gt_u)
                      (br_if $l)
                      (drop) (return)))
                """);
        List<Guest.Run> plain = assertSameAsPlainWithChaos(wasm, "fac-ssa", args(1), args(5), args(20));
        assertThat(plain.get(2).outcome().results()).containsExactly(2432902008176640000L);
        plain = assertSameAsPlainWithChaos(wasm, "fac-ssa-io", args(5), args(20));
        assertThat(plain.get(1).outcome().results()).containsExactly(2432902008176640000L);
        assertThat(plain.get(1).log()).hasSize(60);
    }

    @Test
    void ifElseWithTheCallInEitherArm() {
        byte[] wasm = module("""
                  (func (export "run") (param $x i32) (result i32)
                    (local $r i32)
                    ;; if without else, call in the then-arm
                    (if (i32.gt_s (local.get $x) (i32.const 0))
                      (then (local.set $r (call $io (local.get $x)))))
                    ;; call in the then-arm only
                    (i32.const 1000)
                    (if (result i32) (i32.and (local.get $x) (i32.const 1))
                      (then (call $io (i32.const 1)))
                      (else (i32.const 2)))
                    ;; call in the else-arm only
                    (if (result i32) (i32.and (local.get $x) (i32.const 2))
                      (then (i32.const 3))
                      (else (call $io (i32.const 4))))
                    (i32.add)
                    ;; calls in both arms, condition computed by a call
                    (if (result i32) (i32.and (call $io (i32.const 5)) (i32.const 1))
                      (then (call $tick) (call $io (i32.const 6)))
                      (else (call $io (i32.const 7)) (call $tick)))
                    (i32.add)
                    (i32.add)
                    ;; nested ifs, call in the innermost else
                    (if (result i32) (i32.ge_s (local.get $x) (i32.const 0))
                      (then
                        (if (result i32) (i32.lt_s (local.get $x) (i32.const 10))
                          (then (i32.const 100))
                          (else (i32.add (i32.const 200) (call $io (local.get $x))))))
                      (else (i32.const 300)))
                    (i32.add)
                    (local.get $r)
                    (i32.add))
                """);
        for (long x : new long[] {-5, 0, 1, 2, 3, 7, 11, 14}) {
            assertSameAsPlainWithChaos(wasm, "run", args(x));
        }
    }

    @Test
    void brTableInsideALoopAroundACall() {
        byte[] wasm = module("""
                  (func (export "run") (param $n i32) (result i32)
                    (local $i i32) (local $acc i32)
                    (block $exit
                      (loop $top
                        (br_if $exit (i32.ge_u (local.get $i) (local.get $n)))
                        (block $next
                          (block $c2
                            (block $c1
                              (block $c0
                                (br_table $c0 $c1 $c2 $next
                                  (i32.rem_u (call $io (local.get $i)) (i32.const 4))))
                              ;; c0
                              (local.set $acc (i32.add (local.get $acc) (call $io (i32.const 100))))
                              (br $next))
                            ;; c1
                            (local.set $acc (i32.sub (local.get $acc) (call $io (i32.const 200))))
                            (br $next))
                          ;; c2: a value-carrying br_table out of a block
                          (local.set $acc (i32.xor (local.get $acc)
                            (block $v (result i32)
                              (block $w (result i32)
                                (call $io (i32.const 300))
                                (br_table $v $w (call $io (i32.const 301)) (i32.and (local.get $i) (i32.const 1))))
                              (i32.const 7)
                              (i32.mul)))))
                        (local.set $i (i32.add (local.get $i) (i32.const 1)))
                        (br $top)))
                    (local.get $acc))
                """);
        assertSameAsPlainWithChaos(wasm, "run", args(0), args(1), args(12));
    }

    @Test
    void brIfAndReturnPastSuspendedCallsWithStackValues() {
        byte[] wasm = module("""
                  (func $inner (param $x i32) (result i32)
                    (block $out (result i32)
                      (i32.const 5)
                      (call $io (local.get $x))
                      (br_if $out (i32.and (local.get $x) (i32.const 1)))
                      (i32.add)
                      (call $io (i32.const 9))
                      (if (i32.eqz (i32.and (local.get $x) (i32.const 2)))
                        (then (i32.const 3) (call $io (i32.const 8)) (return)))
                      (i32.mul)))
                  (func (export "run") (param $x i32) (result i32)
                    (i32.add (call $inner (local.get $x)) (call $inner (i32.add (local.get $x) (i32.const 1)))))
                """);
        for (long x : new long[] {0, 1, 2, 3, 4}) {
            assertSameAsPlain(wasm, "run", args(x));
        }
    }

    @Test
    void valueCarryingBranchesSelectTeeAndMultiValueReturnAroundCalls() {
        byte[] wasm = module("""
                  (global $g (mut i32) (i32.const 5))
                  (func $pair (param $x i32) (result i32 i64)
                    (block $b (result i32 i64)
                      (call $io (local.get $x))
                      (call $io64 (i64.extend_i32_s (local.get $x)))
                      (br_if $b (i32.and (local.get $x) (i32.const 1)))
                      (return (i32.const -1) (call $io64 (i64.const 3)))))
                  (func (export "run") (param $x i32) (result i64)
                    (local $t i32) (local $w i64)
                    ;; select whose operands and condition are call results
                    (select (call $io (i32.const 1)) (local.tee $t (call $io (local.get $x)))
                      (i32.and (call $io (i32.const 2)) (i32.const 1)))
                    ;; the global changes across a call; the tee'd local is used after it
                    (global.set $g (i32.add (global.get $g) (call $io (local.get $t))))
                    (call $pair (local.get $x))
                    (local.set $w)
                    (i32.add)
                    ;; memory.grow and memory values across calls
                    (i32.store (i32.const 8) (call $io (i32.add (memory.grow (i32.const 1)) (global.get $g))))
                    (local.set $w (i64.add (local.get $w)
                      (i64.extend_i32_s (i32.add (i32.load (i32.const 8)) (memory.size)))))
                    (i64.add (i64.extend_i32_s) (local.get $w)))
                  (func (export "dead") (param $x i32) (result i32)
                    (block $out (result i32)
                      (br $out (call $io (local.get $x)))
                      ;; unreachable code with calls in it
                      (drop (call $io (i32.const 99)))
                      (call $tick)
                      (i32.const 0))
                    (if (result i32) (i32.eqz (local.get $x))
                      (then (unreachable) (call $io (i32.const 98)))
                      (else (call $io (i32.const 97))))
                    (i32.add))
                """);
        assertSameAsPlainWithChaos(wasm, "run", args(0), args(1), args(2), args(3));
        List<Guest.Run> dead = assertSameAsPlainWithChaos(wasm, "dead", args(1), args(0));
        assertThat(dead.get(1).outcome().failure()).contains("TrapException");
    }

    @Test
    void callsInLoopsWithBrTableBackEdgesAndTryTableInside() {
        byte[] wasm = module("""
                  (func (export "run") (param $n i32) (result i32)
                    (local $i i32)
                    (i32.const 0)
                    (loop $l (param i32) (result i32)
                      (call $io (local.get $i))
                      (i32.add)
                      (local.set $i (i32.add (local.get $i) (i32.const 1)))
                      (i32.lt_u (local.get $i) (local.get $n))
                      (if (param i32) (result i32)
                        (then (br_table $l $l 0 (i32.and (local.get $i) (i32.const 1))))
                        (else (i32.const 1) (i32.add)))))
                """);
        assertSameAsPlainWithChaos(wasm, "run", args(1), args(6));
    }

    @Test
    void deepRecursionSuspendingAtTheBottom() {
        byte[] wasm = module("""
                  (func $down (export "down") (param $n i32) (result i64)
                    (local $mine i64)
                    (local.set $mine (i64.extend_i32_u (local.get $n)))
                    (if (result i64) (i32.eqz (local.get $n))
                      (then (call $io64 (i64.const 1)))
                      (else
                        (i64.add
                          (i64.mul (local.get $mine) (i64.const 3))
                          (call $down (i32.sub (local.get $n) (i32.const 1)))))))
                """);
        List<Guest.Run> runs = assertSameAsPlain(wasm, "down", args(300));
        assertThat(runs.get(0).log()).hasSize(1);
    }
}
