package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;

import io.asyncify4j.asyncify.AsyncifyOptions;
import org.junit.jupiter.api.Test;

/** Each engine gets the transform's output shaped for it (see {@link AsyncifyOptions.Target}). */
class EngineTargetTest {
    @Test
    void theCompilerGetsTheCompilersShape() {
        assertThat(Engine.COMPILER.target()).isEqualTo(AsyncifyOptions.Target.COMPILER);
        assertThat(Engine.INTERPRETER.target()).isEqualTo(AsyncifyOptions.Target.INTERPRETER);
    }

    /** An AsyncModule for the compiler is transformed in the compiler's shape (no unrolled fuel loops: smaller). */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("io.asyncify4j.host.TestEngines#available")
    void aModuleIsShapedForItsEngine(Engine engine) throws Exception {
        java.nio.file.Path fannkuch = java.nio.file.Path.of(System.getProperty("asyncify4j.repoRoot", ".."),
                "workloads", "fannkuch.wasm");
        byte[] wasm = java.nio.file.Files.readAllBytes(fannkuch);
        int interpreter = size(AsyncModule.builder(wasm).withEngine(Engine.INTERPRETER).build());
        int compiler = size(AsyncModule.builder(wasm).withEngine(engine).build());
        if (engine == Engine.COMPILER) {
            assertThat(compiler).isLessThan(interpreter);
        } else {
            assertThat(compiler).isEqualTo(interpreter);
        }
    }

    private static int size(AsyncModule module) {
        return io.asyncify4j.wasm.codec.WasmCodec.encode(module.prepared().model()).length;
    }
}
