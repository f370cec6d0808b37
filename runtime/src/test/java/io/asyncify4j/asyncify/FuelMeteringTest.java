package io.asyncify4j.asyncify;

import static org.assertj.core.api.Assertions.assertThat;

import com.dylibso.chicory.runtime.ImportValues;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.wabt.Wat2Wasm;
import com.dylibso.chicory.wasm.Parser;
import io.asyncify4j.chicory.SuspendPolicy;
import io.asyncify4j.chicory.SuspensionDriver;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.ModuleModel;
import org.junit.jupiter.api.Test;

/** Fuel metering: where checks go and what they charge. */
class FuelMeteringTest {

    private static String module(int leafInstructions) {
        StringBuilder leaf = new StringBuilder("(local.get 0)");
        for (int i = 1; i < leafInstructions; i += 2) {
            leaf.append(" (i32.const 1) (i32.add)");
        }
        return "(module"
                + " (func $leaf (param i32) (result i32) " + leaf + ")"
                + " (func (export \"run\") (param $n i32) (result i32) (local $acc i32)"
                + "   (loop $l"
                + "     (local.set $acc (call $leaf (local.get $acc)))"
                + "     (local.set $n (i32.sub (local.get $n) (i32.const 1)))"
                + "     (br_if $l (local.get $n)))"
                + "   (local.get $acc)))";
    }

    private static AsyncifyOptions metered() {
        return AsyncifyOptions.builder().dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY)
                .importState(true).fuel(true).build();
    }

    /** Fuel used by run(n) with a quantum large enough never to run out. */
    private static long fuelUsed(String wat, int n) {
        byte[] wasm = Asyncify.transform(Wat2Wasm.parse(wat), metered());
        SuspensionDriver driver = new SuspensionDriver(SuspendPolicy.never());
        long quantum = 1L << 40;
        var fuel = driver.fuelImport(quantum);
        Instance instance = Instance.builder(Parser.parse(wasm)).withImportValues(ImportValues.builder()
                .addFunction(driver.fuelExhausted()).addGlobal(driver.stateImport()).addGlobal(fuel)
                .build()).build();
        driver.call(instance.export("run"), n);
        return quantum - fuel.instance().getValue();
    }

    @Test
    void leafFunctionsAreNotInstrumentedAndTheirCostIsChargedToTheCaller() {
        ModuleModel m = WasmCodec.decode(Wat2Wasm.parse(module(51)));
        AsyncifyReport report = Asyncify.transform(m, metered());
        assertThat(report.instrumented()).extracting(AsyncifyReport.InstrumentedFunction::index)
                .doesNotContain(m.importedFunctionCount()); // $leaf (the fuel import came first)

        long perIterationSmallLeaf = (fuelUsed(module(1), 20) - fuelUsed(module(1), 10)) / 10;
        long perIterationBigLeaf = (fuelUsed(module(51), 20) - fuelUsed(module(51), 10)) / 10;
        assertThat(perIterationBigLeaf - perIterationSmallLeaf).isEqualTo(50);
    }

    @Test
    void chargesAreDeterministic() {
        assertThat(fuelUsed(module(11), 1000)).isEqualTo(fuelUsed(module(11), 1000)).isPositive();
    }
}
