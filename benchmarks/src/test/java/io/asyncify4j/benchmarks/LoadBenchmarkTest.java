package io.asyncify4j.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import run.endive.wasm.Parser;
import io.asyncify4j.benchmarks.load.HostileModules;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import org.junit.jupiter.api.Test;

class LoadBenchmarkTest {
    @Test
    void theSyntheticSeriesAreValidModulesOfTheAdvertisedShape() {
        var loops = WasmCodec.decode(HostileModules.nestedLoops(7));
        int depth = 0;
        var body = loops.functions().get(0).body();
        while (body.size() == 1 && body.get(0) instanceof StructuredInstruction st) {
            depth++;
            body = st.body();
        }
        assertThat(depth).isEqualTo(7);
        assertThat(Parser.parse(HostileModules.nestedLoops(7)).functionSection().functionCount()).isEqualTo(1);
        var chain = WasmCodec.decode(HostileModules.callChain(5));
        assertThat(chain.functions()).hasSize(5);
        assertThat(chain.importedFunctionCount()).isEqualTo(1);
        assertThat(Parser.parse(HostileModules.callChain(5)).functionSection().functionCount()).isEqualTo(5);
    }
}
