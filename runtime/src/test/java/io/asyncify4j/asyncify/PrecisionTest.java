package io.asyncify4j.asyncify;

import static io.asyncify4j.asyncify.Guest.args;
import static io.asyncify4j.asyncify.OptionsTest.instrumented;
import static org.assertj.core.api.Assertions.assertThat;

import io.asyncify4j.engine.SuspendPolicy;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.Function;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.testutil.ModuleDump;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What the transform leaves alone: functions that cannot unwind, calls that cannot, dead locals. */
// A mis-transformed loop can spin forever instead of failing: bound every test.
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PrecisionTest {
    private static final String MODULE = """
            (module
              (import "env" "io" (func $io (param i32) (result i32)))
              (type $t (func (param i32) (result i32)))
              (type $u (func (param i64) (result i64)))
              (memory 1)
              (table 4 funcref)
              (elem (i32.const 0) $t_sleeper $t_pure $u_pure)
              (func $t_sleeper (type $t) (call $io (local.get 0)))
              (func $t_pure (type $t) (i32.add (local.get 0) (i32.const 1)))
              (func $u_pure (type $u) (i64.add (local.get 0) (i64.const 1)))
              (func $calls_u (param i64) (result i64)
                (call_indirect (type $u) (local.get 0) (i32.const 2)))
              (func $calls_t (param i32) (result i32)
                (call_indirect (type $t) (local.get 0) (i32.const 1)))
              (func $holds_ref (param externref) (result i32)
                (drop (call $io (i32.const 7)))
                (ref.is_null (local.get 0)))
              (func $mixed (param i32) (result i32)
                (drop (call_indirect (type $u) (i64.const 1) (i32.const 2)))
                (drop (call $t_pure (local.get 0)))
                (call $io (local.get 0)))
              (func $hot (param $n i32) (result i32) (local $i i32) (local $acc i32)
                (block $done
                  (loop $l
                    (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
                    (local.set $acc (i32.add (local.get $acc)
                      (i32.load (i32.and (i32.shl (local.get $i) (i32.const 2)) (i32.const 1020)))))
                    (i32.store (i32.const 0) (local.get $acc))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $l)))
                (local.get $acc))
              (func $main (export "main") (param $x i32) (result i64)
                (i64.add
                  (call $calls_u (i64.extend_i32_u (local.get $x)))
                  (i64.extend_i32_u (i32.add (i32.add (call $calls_t (local.get $x)) (call $mixed (local.get $x)))
                    (i32.add (call $hot (local.get $x)) (call $holds_ref (ref.null extern))))))))
            """;

    @Test
    void onlyFunctionsThatCanReachAnUnwindingImportAreInstrumented() {
        for (AsyncifyOptions options : List.of(AsyncifyOptions.defaults(), Guest.driverOptions().build())) {
            AsyncifyReport r = OptionsTest.report(Guest.named(MODULE), options);
            // $calls_t makes an indirect call of type $t, and $t_sleeper (type $t, in the table) unwinds;
            // $calls_u's indirect call is of type $u, which no unwinding function has.
            assertThat(instrumented(r)).containsExactlyInAnyOrder("$t_sleeper", "$calls_t", "$holds_ref", "$mixed",
                    "$main");
            // Only the call that can unwind is a call site in $mixed (not the call_indirect of type $u, not the
            // call of $t_pure), even after a reference-holding function made the transform add its tables.
            assertThat(r.instrumented()).filteredOn(f -> f.name().equals("$mixed")).singleElement()
                    .satisfies(f -> assertThat(f.callSites()).isEqualTo(1));
            assertThat(r.instrumented()).filteredOn(f -> f.name().equals("$main")).singleElement()
                    .satisfies(f -> assertThat(f.callSites()).isEqualTo(3));
        }
        Guest.assertSameAsPlain(Guest.named(MODULE), "main", args(0), args(3), args(300));
    }

    @Test
    void aTableSharedWithTheHostMakesEveryIndirectCallMayUnwind() {
        String exported = MODULE.replace("(table 4 funcref)", "(table (export \"tab\") 4 funcref)");
        AsyncifyReport r = OptionsTest.report(Guest.named(exported), AsyncifyOptions.defaults());
        assertThat(instrumented(r)).contains("$calls_u", "$calls_t");
        assertThat(r.instrumented()).filteredOn(f -> f.name().equals("$mixed")).singleElement()
                .satisfies(f -> assertThat(f.callSites()).isEqualTo(2));
        // ... unless indirect calls are declared never to unwind.
        AsyncifyReport ignored = OptionsTest.report(Guest.named(exported),
                AsyncifyOptions.builder().ignoreIndirect(true).build());
        assertThat(instrumented(ignored)).doesNotContain("$calls_u", "$calls_t");
    }

    @Test
    void aHotLoopWithoutCallsIsLeftByteForByteAlone() {
        byte[] wasm = Guest.named(MODULE);
        ModuleModel before = WasmCodec.decode(wasm);
        int hot = OptionsTest.index(wasm, "hot");
        for (AsyncifyOptions options : List.of(AsyncifyOptions.defaults(), Guest.driverOptions().build())) {
            ModuleModel after = WasmCodec.decode(Asyncify.transform(wasm, options));
            Function b = before.definedFunction(hot);
            Function a = after.definedFunction(OptionsTest.index(WasmCodec.encode(after), "hot"));
            assertThat(ModuleDump.of(a.body())).isEqualTo(ModuleDump.of(b.body()));
            assertThat(a.locals()).isEqualTo(b.locals());
            // An instrumented function, by contrast, is rewritten.
            int mixed = OptionsTest.index(wasm, "mixed");
            assertThat(ModuleDump.of(after.definedFunction(mixed).body()))
                    .isNotEqualTo(ModuleDump.of(before.definedFunction(mixed).body()));
        }
    }

    /** $rec(n) with 500 i64 locals, all written after its recursive call: none is live across it. */
    private static String manyLocals() {
        StringBuilder locals = new StringBuilder();
        StringBuilder writes = new StringBuilder();
        StringBuilder sum = new StringBuilder("(local.get $n) (i64.extend_i32_u)");
        for (int i = 0; i < 500; i++) {
            locals.append("(local $l").append(i).append(" i64) ");
            writes.append("(local.set $l").append(i).append(" (i64.mul (i64.extend_i32_u (local.get $n)) (i64.const ")
                    .append(i + 1).append(")))\n");
            sum.append(" (local.get $l").append(i).append(") (i64.add)");
        }
        return """
                (module
                  (import "env" "io" (func $io (param i32) (result i32)))
                  (memory 1)
                  (func $rec (param $n i32) (result i64) LOCALS
                    (if (local.get $n)
                      (then (drop (call $rec (i32.sub (local.get $n) (i32.const 1)))))
                      (else (drop (call $io (i32.const 0)))))
                    WRITES
                    SUM)
                  (func (export "run") (param $n i32) (result i64) (call $rec (local.get $n))))
                """.replace("LOCALS", locals).replace("WRITES", writes).replace("SUM", sum);
    }

    @Test
    void framesHoldOnlyLiveLocals() {
        byte[] wasm = Guest.named(manyLocals());
        byte[] transformed = Asyncify.transform(wasm, AsyncifyOptions.defaults());
        int depth = 100;
        // 101 frames of $rec and one of the export. Saving the 500 locals would take 4000 bytes a frame;
        // live are only the call index and $n (and no spilled stack value): 8 bytes; the export's frame
        // is its call index alone. The stack is made exactly that big.
        int data = 1024;
        int stackBytes = 101 * 8 + 4;
        AbiDriver d = new AbiDriver(data, data + 8 + stackBytes, SuspendPolicy.always()).instantiate(transformed);
        Guest.Run run = d.call("run", depth);
        Guest.Run plain = Guest.plain(wasm, "run", args(depth)).get(0);
        assertThat(run.outcome()).isEqualTo(plain.outcome());
        assertThat(run.suspensions()).isEqualTo(1);
        assertThat(d.maxStackUsed).isEqualTo(stackBytes);
    }
    /**
     * $run adds 24 host results to $a, i32 and i64 alternately: each statement holds $a's value across its
     * call (a stack value below the call's argument), gives the call an argument and takes its result.
     */
    private static String statements() {
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < 24; i++) {
            if (i % 2 == 0) {
                body.append("(local.set $a (i32.add (local.get $a) (call $io (i32.const ").append(i).append("))))\n");
            } else {
                body.append("(local.set $b (i64.add (local.get $b) (call $io64 (i64.const ").append(i).append("))))\n");
            }
        }
        return """
                (module
                  (import "env" "io" (func $io (param i32) (result i32)))
                  (import "env" "io64" (func $io64 (param i64) (result i64)))
                  (memory 1)
                  (func $run (export "run") (param $n i32) (result i64) (local $a i32) (local $b i64)
                    BODY
                    (i64.add (local.get $b) (i64.extend_i32_u (local.get $a)))))
                """.replace("BODY", body);
    }

    @Test
    void theTransformsTempsShareLocalsAndFrames() {
        byte[] wasm = Guest.named(statements());
        byte[] transformed = Asyncify.transform(wasm, AsyncifyOptions.defaults());
        // Per statement a temp for $a's value held across the call, one for the argument, one for the
        // result: 72 temps, 36 of each type, where only one statement's are live at a time. Shared by type
        // in program order: 3 of each type at most, plus the call index (the frame address shares a temp).
        Function run = WasmCodec.decode(transformed).definedFunction(OptionsTest.index(wasm, "run"));
        assertThat(run.locals().stream().filter(t -> t.equals(io.asyncify4j.wasm.model.ValType.I32)).count())
                .isLessThanOrEqualTo(1 + 1 + 3);
        assertThat(run.locals().stream().filter(t -> t.equals(io.asyncify4j.wasm.model.ValType.I64)).count())
                .isLessThanOrEqualTo(1 + 3);
        // Its frame: the call index, $a and $b (each is live across the other's calls), and the value held
        // across the call: one i32 and one i64 temp for all 24 sites, where a temp each would take 144 bytes.
        int data = 1024;
        int stackBytes = 4 + 4 + 8 + 4 + 8;
        AbiDriver d = new AbiDriver(data, data + 8 + stackBytes, SuspendPolicy.always()).instantiate(transformed);
        Guest.Run r = d.call("run", 0);
        Guest.Run plain = Guest.plain(wasm, "run", args(0)).get(0);
        assertThat(r.outcome()).isEqualTo(plain.outcome());
        assertThat(r.log()).isEqualTo(plain.log());
        assertThat(r.suspensions()).isEqualTo(24);
        assertThat(d.maxStackUsed).isEqualTo(stackBytes);
        Guest.assertSameAsPlain(wasm, "run", args(0), args(5));
    }
}
