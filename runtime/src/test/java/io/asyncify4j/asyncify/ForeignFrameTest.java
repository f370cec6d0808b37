package io.asyncify4j.asyncify;

import static org.assertj.core.api.Assertions.assertThat;

import run.endive.runtime.TrapException;
import io.asyncify4j.engine.SuspendPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A call suspended inside a {@code call_indirect} whose table slot changes before it resumes: the rewind
 * re-executes the call_indirect and reaches another function, which must not take the frame for its own.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ForeignFrameTest {
    private static final String MODULE = """
            (module
              (import "env" "io" (func $io (param i32) (result i32)))
              (import "env" "log" (func $log (param i32)))
              (memory 1)
              (type $t (func (param i32) (result i32)))
              (table 3 funcref)
              (elem (i32.const 0) $f $g $pure)
              (func $f (param $x i32) (result i32) (i32.add (call $io (local.get $x)) (i32.const 1)))
              (func $g (param $x i32) (result i32)
                (call $log (i32.const 666))
                (i32.add (call $io (local.get $x)) (i32.const 2)))
              (func $pure (param $x i32) (result i32) (i32.store (i32.const 0) (i32.const 999)) (i32.const 3))
              (func $run (export "run") (param $x i32) (result i32)
                (local $k i32)
                (local.set $k (i32.mul (local.get $x) (i32.const 3)))
                (i32.add (local.get $k)
                  (i32.mul (call_indirect (type $t) (local.get $x) (i32.const 0)) (i32.const 10)))))
            """;

    private static final byte[] WASM = Guest.named(MODULE);
    private static final byte[] TRANSFORMED = Asyncify.transform(WASM, AsyncifyOptions.defaults());

    /** A driver whose env.io, when it suspends the guest, first points table slot 0 at {@code target}. */
    private static AbiDriver swappingTo(String target) {
        AbiDriver d = new AbiDriver(1024, 4096, SuspendPolicy.always());
        d.host.override("env.io", (inst, a) -> {
            if (target != null) {
                inst.table(0).setRef(0, OptionsTest.index(TRANSFORMED, target), inst);
            }
            return new long[] {a[0] + 100};
        });
        return d.instantiate(TRANSFORMED);
    }

    @Test
    void withTheSlotUnchangedTheCallResumesAsTheOriginalRuns() {
        AbiDriver d = swappingTo(null);
        Guest.Run run = d.call("run", 5);
        assertThat(run.suspensions()).isEqualTo(1);
        assertThat(run.i32()).isEqualTo(15 + (105 + 1) * 10);
        assertThat(d.globalI32(AsyncifyAbi.FAULT_KIND_GLOBAL)).isZero();
    }

    @Test
    void anInstrumentedFunctionInTheSlotRefusesTheFrameBeforeRunningAnything() {
        AbiDriver d = swappingTo("g");
        Guest.Run run = d.call("run", 5);
        assertThat(run.outcome().failure()).startsWith(TrapException.class.getName());
        assertThat(d.globalI32(AsyncifyAbi.FAULT_KIND_GLOBAL)).isEqualTo(AsyncifyAbi.FAULT_FOREIGN_FRAME);
        assertThat(d.globalI32(AsyncifyAbi.FAULT_FUNCTION_GLOBAL)).isEqualTo(OptionsTest.index(TRANSFORMED, "g"));
        assertThat(run.log()).as("$g's first call never ran").noneMatch(s -> s.startsWith("env.log"));
    }

    @Test
    void anUninstrumentedFunctionInTheSlotIsCaughtWhenItReturnsStillRewinding() {
        // It cannot check anything (it has no rewind code, and a check on its normal path would cost every
        // call): it runs, and its caller finds the rewind unfinished when it returns.
        AbiDriver d = swappingTo("pure");
        Guest.Run run = d.call("run", 5);
        assertThat(run.outcome().failure()).startsWith(TrapException.class.getName());
        assertThat(d.globalI32(AsyncifyAbi.FAULT_KIND_GLOBAL)).isEqualTo(AsyncifyAbi.FAULT_FOREIGN_FRAME);
        assertThat(d.globalI32(AsyncifyAbi.FAULT_FUNCTION_GLOBAL)).isEqualTo(OptionsTest.index(TRANSFORMED, "run"));
    }

    @Test
    void framesTakeNoMoreRoomForTheirOwnerCheck() {
        // The owner is told by the call index, unique in the module: $f's frame is its call index alone;
        // $run's holds its call index, $k and the table index (a rewind calls through the same slot).
        AbiDriver d = swappingTo(null);
        assertThat(d.call("run", 5).i32()).isEqualTo(15 + (105 + 1) * 10);
        assertThat(d.maxStackUsed).isEqualTo(4 + 12);
    }

    @Test
    void anIndirectCallThroughAnImportedFunctionReferenceMayUnwind() {
        // The table holds a function of another module (or of the host), which may unwind: the call must
        // be a call site, or a suspension there leaves no frame here and the rewind finds another's.
        String viaGlobal = """
                (module
                  (import "other" "f" (global funcref))
                  (type $r (func (result i32)))
                  (memory 1)
                  (table 1 funcref)
                  (elem (i32.const 0) funcref (global.get 0))
                  (func (export "run") (result i32) (call_indirect (type $r) (i32.const 0))))
                """;
        String viaResult = """
                (module
                  (import "other" "get" (func $get (result funcref)))
                  (type $r (func (result i32)))
                  (memory 1)
                  (table 1 funcref)
                  (func (export "init") (table.set (i32.const 0) (call $get)))
                  (func (export "run") (result i32) (call_indirect (type $r) (i32.const 0))))
                """;
        for (String wat : new String[] {viaGlobal, viaResult}) {
            io.asyncify4j.wasm.model.ModuleModel m = io.asyncify4j.wasm.codec.WasmCodec.decode(Guest.named(wat));
            int run = m.functionCount() - 1;
            AsyncifyReport report = Asyncify.transform(m, AsyncifyOptions.defaults());
            assertThat(report.instrumented()).extracting(AsyncifyReport.InstrumentedFunction::index).contains(run);
        }
    }
}
