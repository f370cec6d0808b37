package io.asyncify4j.host;

import io.asyncify4j.engine.Engines;
import java.util.Arrays;
import java.util.stream.Stream;

/** Parameters of the tests run on each engine. */
final class TestEngines {
    private TestEngines() {}

    /**
     * The engines this build can run: the compiler only where Endive's compiler runs the runtime's
     * modules ({@link Engines#compilerSupported}: not in the endive-latest profile).
     */
    static Stream<Engine> available() {
        return Arrays.stream(Engine.values()).filter(e -> e != Engine.COMPILER || Engines.compilerSupported());
    }
}
