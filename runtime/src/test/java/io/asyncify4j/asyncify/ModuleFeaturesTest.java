package io.asyncify4j.asyncify;

import static io.asyncify4j.asyncify.Guest.args;
import static io.asyncify4j.asyncify.Guest.assertSameAsPlain;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import run.endive.runtime.ImportTable;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.runtime.TableInstance;
import run.endive.wasm.WasmModule;
import run.endive.wasm.types.Table;
import run.endive.wasm.types.TableLimits;
import run.endive.wasm.types.ValType;
import run.endive.wasm.types.Value;
import io.asyncify4j.engine.SuspendPolicy;
import io.asyncify4j.engine.SuspensionDriver;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.testutil.Wat;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Module-level features: several memories, start functions, instantiation that fails half-way. */
// A mis-transformed loop can spin forever instead of failing: bound every test.
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ModuleFeaturesTest {

    static final String MULTI_MEMORY = """
            (module
              (import "env" "io" (func $io (param i32) (result i32)))
              (memory $m0 1)
              (memory $m1 1)
              (memory $m2 2)
              (func $deep (param $x i32) (param $n i32) (result i32)
                (i32.store $m1 (i32.shl (local.get $n) (i32.const 2)) (call $io (local.get $x)))
                (i32.store $m2 (i32.add (i32.const 65536) (i32.shl (local.get $n) (i32.const 2)))
                  (i32.add (i32.load $m1 (i32.shl (local.get $n) (i32.const 2))) (local.get $n)))
                (if (result i32) (local.get $n)
                  (then (i32.add
                    (i32.load $m2 (i32.add (i32.const 65536) (i32.shl (local.get $n) (i32.const 2))))
                    (call $deep (i32.add (local.get $x) (i32.const 1)) (i32.sub (local.get $n) (i32.const 1)))))
                  (else (i32.load $m0 (i32.const 4000)))))
              (func (export "run") (param $x i32) (result i32)
                (i32.store $m0 (i32.const 4000) (i32.const 17))
                (i32.add (call $deep (local.get $x) (i32.const 20))
                  (i32.add (i32.load $m1 (i32.const 8)) (i32.load $m2 (i32.const 65600))))))
            """;

    @Test
    void multiMemoryModuleWithTheDataInASecondaryMemory() {
        byte[] wasm = Wat.watAll(MULTI_MEMORY);
        AsyncifyReport r = Asyncify.transform(WasmCodec.decode(wasm), Guest.driverOptions().build());
        assertThat(r.dataMemoryIndex()).isEqualTo(3);
        assertSameAsPlain(wasm, "run", args(1), args(5));
    }

    @Test
    void multiMemoryModuleWithTheDataInMemoryZero() {
        byte[] wasm = Wat.watAll(MULTI_MEMORY);
        byte[] transformed = Asyncify.transform(wasm, AsyncifyOptions.defaults());
        AbiDriver d = new AbiDriver(8192, 16384, SuspendPolicy.always()).instantiate(transformed);
        List<Guest.Run> plain = Guest.plain(wasm, "run", args(1), args(5));
        assertThat(d.call("run", 1).outcome()).isEqualTo(plain.get(0).outcome());
        assertThat(d.call("run", 5).outcome()).isEqualTo(plain.get(1).outcome());
        assertThat(d.suspensions).isEqualTo(42);
    }

    private static final String START = """
            (module
              (import "env" "io" (func $io (param i32) (result i32)))
              (global $g (mut i32) (i32.const 0))
              (memory 1)
              (start $init)
              (func $init
                (global.set $g (call $io (i32.const 42)))
                (i32.store (i32.const 0) (i32.add (global.get $g) (call $io (global.get $g)))))
              (func (export "get") (result i32)
                (i32.add (global.get $g) (i32.load (i32.const 0)))))
            """;

    @Test
    void startFunctionThatSuspendsRunsDeferred() {
        byte[] wasm = Wat.wat(START);
        Guest.Host plainHost = new Guest.Host();
        List<Guest.Run> plain = Guest.plain(wasm, plainHost, "get", args());
        byte[] transformed = Asyncify.transform(wasm, Guest.driverOptions().build());
        WasmModule parsed = Guest.parse(transformed);
        assertThat(parsed.startSection()).as("start section removed").isEmpty();
        assertThat(Guest.exports(parsed, AsyncifyAbi.DEFERRED_START_EXPORT)).isTrue();

        Guest.Host host = new Guest.Host();
        Guest.Driven d = new Guest.Driven(transformed, SuspendPolicy.always(), host);
        assertThat(d.driver.suspensions()).as("the start function suspended at both calls").isEqualTo(2);
        assertThat(host.log).isEqualTo(plainHost.log.subList(0, 2));
        assertThat(d.call("get").outcome()).isEqualTo(plain.get(0).outcome());
    }

    @Test
    void withoutDeferStartTheStartSectionStays() {
        byte[] transformed = Asyncify.transform(Wat.wat(START), AsyncifyOptions.defaults());
        assertThat(Guest.parse(transformed).startSection()).isPresent();
    }

    // ------------------------------------------------------------------ failed instantiation

    private static final String HALF_INSTANTIATED = """
            (module
              (import "env" "io" (func $io (param i32) (result i32)))
              (import "env" "table" (table 2 funcref))
              (type $t (func (param i32) (result i32)))
              (memory 1)
              (elem (i32.const 0) $f)
              (data (i32.const 65535) "too long")
              (func $f (type $t) (local $keep i32)
                (local.set $keep (i32.mul (local.get 0) (i32.const 3)))
                (i32.add (call $io (local.get 0)) (local.get $keep))))
            """;

    private static final String CALLER = """
            (module
              (import "env" "table" (table 2 funcref))
              (type $t (func (param i32) (result i32)))
              (func (export "call") (param i32) (result i32)
                (i32.add (i32.const 1000) (call_indirect (type $t) (local.get 0) (i32.const 0)))))
            """;

    private static TableInstance newTable() {
        return new TableInstance(new Table(ValType.FuncRef, new TableLimits(2, 2)), Value.REF_NULL_VALUE);
    }

    @Test
    void functionLeftInAnImportedTableByAFailedInstantiationSuspends() {
        // Element segments are written before data segments; the out-of-bounds data segment makes the
        // instantiation fail after $f went into the shared table. $f later runs and suspends: its data
        // memory, which nothing initialised, must set itself up.
        byte[] a = Wat.wat(HALF_INSTANTIATED);
        byte[] b = Wat.wat(CALLER);

        // Plain Endive first: the expected outcome.
        TableInstance plainTable = newTable();
        Guest.Host plainHost = new Guest.Host();
        WasmModule pa = Guest.parse(a);
        assertThatThrownBy(() -> Instance.builder(pa).withImportValues(ImportValues.builder()
                .withFunctions(plainHost.functionsFor(pa)).addTable(new ImportTable("env", "table", plainTable))
                .build()).build()).isInstanceOf(RuntimeException.class);
        assertThat(plainTable.ref(0)).as("the element was written").isNotEqualTo(Value.REF_NULL_VALUE);
        Instance plainCaller = Instance.builder(Guest.parse(b)).withImportValues(ImportValues.builder()
                .addTable(new ImportTable("env", "table", plainTable)).build()).build();
        long expected5 = plainCaller.export("call").apply(5)[0];
        long expected9 = plainCaller.export("call").apply(9)[0];

        // Transformed, with one driver (shared state) for both modules.
        AsyncifyOptions options = Guest.driverOptions().build();
        byte[] ta = Asyncify.transform(a, options);
        byte[] tb = Asyncify.transform(b, options);
        SuspensionDriver driver = new SuspensionDriver(SuspendPolicy.always());
        TableInstance table = newTable();
        Guest.Host host = new Guest.Host();
        WasmModule ma = Guest.parse(ta);
        List<ImportTable> tables = new ArrayList<>(List.of(new ImportTable("env", "table", table)));
        assertThatThrownBy(() -> Instance.builder(ma).withImportValues(Guest.imports(ma, driver, host, tables)).build())
                .isInstanceOf(RuntimeException.class);
        assertThat(table.ref(0)).isNotEqualTo(Value.REF_NULL_VALUE);
        Guest.Driven caller = new Guest.Driven(tb, driver, new Guest.Host(), tables);
        Guest.Run r5 = caller.call("call", 5);
        Guest.Run r9 = caller.call("call", 9);
        assertThat(r5.outcome().failure()).isNull();
        assertThat((int) r5.outcome().results()[0]).isEqualTo((int) expected5);
        assertThat((int) r9.outcome().results()[0]).isEqualTo((int) expected9);
        assertThat(r5.suspensions() + r9.suspensions()).isEqualTo(2);
        assertThat(host.log).isEqualTo(plainHost.log);
    }
}
