package io.asyncify4j.asyncify;

import static io.asyncify4j.asyncify.Guest.args;
import static org.assertj.core.api.Assertions.assertThat;

import run.endive.runtime.Memory;
import run.endive.runtime.TrapException;
import io.asyncify4j.engine.SuspendPolicy;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** An asyncify stack that is too small is detected before anything is written past its end. */
// A mis-transformed loop can spin forever instead of failing: bound every test.
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SafetyTest {
    /** $leaf's frame is 4 bytes (its call index); $big's keeps 16 live i64 locals and more. */
    private static final String MODULE = """
            (module
              (import "env" "io" (func $io (param i32) (result i32)))
              (memory 1)
              (func $leaf (param i32) (result i32) (call $io (local.get 0)))
              (func $big (param $x i32) (result i64)
                (local $a0 i64) (local $a1 i64) (local $a2 i64) (local $a3 i64) (local $a4 i64) (local $a5 i64)
                (local $a6 i64) (local $a7 i64) (local $a8 i64) (local $a9 i64) (local $a10 i64) (local $a11 i64)
                (local $a12 i64) (local $a13 i64) (local $a14 i64) (local $a15 i64)
                BIG_SETS
                (i64.add (i64.extend_i32_u (call $leaf (local.get $x))) BIG_SUM))
              (func $rec (export "rec") (param $n i32) (result i64)
                (local $a0 i64) (local $a1 i64) (local $a2 i64) (local $a3 i64) (local $a4 i64) (local $a5 i64)
                (local $a6 i64) (local $a7 i64) (local $a8 i64) (local $a9 i64) (local $a10 i64) (local $a11 i64)
                (local $a12 i64) (local $a13 i64) (local $a14 i64) (local $a15 i64)
                REC_SETS
                (i64.add
                  (if (result i64) (local.get $n)
                    (then (call $rec (i32.sub (local.get $n) (i32.const 1))))
                    (else (i64.extend_i32_u (call $io (i32.const 0)))))
                  BIG_SUM))
              (func (export "run") (param i32) (result i64) (call $big (local.get 0))))
            """;

    static String module() {
        StringBuilder bigSets = new StringBuilder();
        StringBuilder recSets = new StringBuilder();
        StringBuilder sum = new StringBuilder("(i64.const 0)");
        for (int i = 0; i < 16; i++) {
            bigSets.append("(local.set $a").append(i).append(" (i64.const ").append(1000 + i).append("))\n");
            recSets.append("(local.set $a").append(i).append(" (i64.add (i64.extend_i32_u (local.get $n)) (i64.const ")
                    .append(i).append(")))\n");
            sum = new StringBuilder("(i64.add " + sum + " (local.get $a" + i + "))");
        }
        return MODULE.replace("BIG_SETS", bigSets).replace("REC_SETS", recSets).replace("BIG_SUM", sum);
    }

    @Test
    void moduleMemoryStackOverflowTrapsBeforeWritingPastTheEnd() {
        byte[] wasm = Guest.named(module());
        byte[] transformed = Asyncify.transform(wasm, AsyncifyOptions.defaults());
        int data = 2048;
        int end = data + 8 + 64; // room for $leaf's frame, not for $big's
        AbiDriver d = new AbiDriver(data, end, SuspendPolicy.always()).instantiate(transformed);
        Memory mem = d.instance.memory(0);
        byte[] canary = new byte[512];
        Arrays.fill(canary, (byte) 0xA5);
        mem.write(end, canary);
        byte[] belowData = mem.readBytes(0, data);

        Guest.Run run = d.call("run", 3);
        assertThat(run.outcome().failure()).startsWith(TrapException.class.getName());
        assertThat(mem.readBytes(end, canary.length)).as("bytes past the stack end").isEqualTo(canary);
        assertThat(mem.readBytes(0, data)).as("memory below the data structure").isEqualTo(belowData);
        assertThat(mem.readInt(data + 4)).as("the end is unchanged").isEqualTo(end);
        assertThat(mem.readInt(data)).as("the position never passes the end").isLessThanOrEqualTo(end);
        assertThat(d.globalI32(AsyncifyAbi.FAULT_KIND_GLOBAL)).isEqualTo(AsyncifyAbi.FAULT_OVERFLOW);
        assertThat(d.globalI32(AsyncifyAbi.FAULT_FUNCTION_GLOBAL)).isEqualTo(OptionsTest.index(transformed, "big"));

        // The same call with a stack that is big enough runs as the original does.
        AbiDriver roomy = new AbiDriver(data, data + 8 + 1024, SuspendPolicy.always()).instantiate(transformed);
        assertThat(roomy.call("run", 3).outcome()).isEqualTo(Guest.plain(wasm, "run", args(3)).get(0).outcome());
        assertThat(roomy.maxStackUsed).isGreaterThan(64).isLessThanOrEqualTo(1024);
    }

    @Test
    void moduleMemoryStackThatFitsExactlyIsEnough() {
        byte[] wasm = Guest.named(module());
        byte[] transformed = Asyncify.transform(wasm, AsyncifyOptions.defaults());
        AbiDriver probe = new AbiDriver(2048, 2048 + 8 + 4096, SuspendPolicy.always()).instantiate(transformed);
        assertThat(probe.call("run", 3).outcome().failure()).isNull();
        int need = probe.maxStackUsed;
        AbiDriver exact = new AbiDriver(2048, 2048 + 8 + need, SuspendPolicy.always()).instantiate(transformed);
        assertThat(exact.call("run", 3).outcome().failure()).isNull();
        AbiDriver oneShort = new AbiDriver(2048, 2048 + 8 + need - 1, SuspendPolicy.always()).instantiate(transformed);
        assertThat(oneShort.call("run", 3).outcome().failure()).startsWith(TrapException.class.getName());
        assertThat(oneShort.globalI32(AsyncifyAbi.FAULT_KIND_GLOBAL)).isEqualTo(AsyncifyAbi.FAULT_OVERFLOW);
    }

    @Test
    void secondaryMemoryGrowsUpToItsMaximumThenFaults() {
        byte[] wasm = Guest.named(module());
        // 400 frames of $rec, each with 16 live i64 locals (> 128 bytes): more than 2 pages, less than 4.
        byte[] capped = Asyncify.transform(wasm, Guest.driverOptions().secondaryMemoryPages(1, 2).build());
        Guest.Driven d = new Guest.Driven(capped, SuspendPolicy.always(), new Guest.Host());
        Guest.Run run = d.call("rec", 1000);
        assertThat(run.outcome().failure()).startsWith(TrapException.class.getName());
        assertThat(d.instance.exports().memory(AsyncifyAbi.DATA_MEMORY_EXPORT).pages()).isEqualTo(2);
        assertThat(d.globalI32(AsyncifyAbi.FAULT_KIND_GLOBAL)).isEqualTo(AsyncifyAbi.FAULT_OVERFLOW);
        assertThat(d.globalI32(AsyncifyAbi.FAULT_FUNCTION_GLOBAL)).isEqualTo(OptionsTest.index(capped, "rec"));

        byte[] roomy = Asyncify.transform(wasm, Guest.driverOptions().secondaryMemoryPages(1, 8).build());
        Guest.Driven ok = new Guest.Driven(roomy, SuspendPolicy.always(), new Guest.Host());
        Guest.Run done = ok.call("rec", 1000);
        List<Guest.Run> expected = Guest.plain(wasm, "rec", args(1000), args(1000));
        assertThat(done.outcome()).isEqualTo(expected.get(0).outcome());
        assertThat(ok.instance.exports().memory(AsyncifyAbi.DATA_MEMORY_EXPORT).pages()).isBetween(3, 8);
        assertThat(ok.globalI32(AsyncifyAbi.FAULT_KIND_GLOBAL)).isZero();
        // The grown memory is reused: a second call needs no more pages.
        int pages = ok.instance.exports().memory(AsyncifyAbi.DATA_MEMORY_EXPORT).pages();
        assertThat(ok.call("rec", 1000).outcome()).isEqualTo(expected.get(1).outcome());
        assertThat(ok.instance.exports().memory(AsyncifyAbi.DATA_MEMORY_EXPORT).pages()).isEqualTo(pages);
    }

    @Test
    void afterAnOverflowInTheSecondaryMemoryTheInstanceSuspendsAgain() {
        // Regression: the frames pushed before the overflow stayed on the stack (nothing resets the
        // transform's own memory), so every later suspension of the instance overflowed at once.
        byte[] wasm = Guest.named(module());
        byte[] capped = Asyncify.transform(wasm, Guest.driverOptions().secondaryMemoryPages(1, 1).build());
        Guest.Driven d = new Guest.Driven(capped, SuspendPolicy.always(), new Guest.Host());
        assertThat(d.call("rec", 1000).outcome().failure()).startsWith(TrapException.class.getName());
        Memory data = d.instance.exports().memory(AsyncifyAbi.DATA_MEMORY_EXPORT);
        assertThat(data.readInt(AsyncifyAbi.SECONDARY_DATA_ADDRESS)).as("position after the fault")
                .isEqualTo(AsyncifyAbi.SECONDARY_DATA_ADDRESS + AsyncifyAbi.SECONDARY_STACK_START);
        List<Guest.Run> expected = Guest.plain(wasm, "rec", args(1000), args(300), args(300));
        for (int i = 1; i <= 2; i++) {
            Guest.Run again = d.call("rec", 300);
            assertThat(again.outcome()).as("call %d after the fault", i).isEqualTo(expected.get(i).outcome());
            assertThat(again.suspensions()).isEqualTo(1);
        }
        assertThat(d.instance.exports().memory(AsyncifyAbi.DATA_MEMORY_EXPORT).pages()).isEqualTo(1);
    }
}
