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
}
