package io.asyncify4j.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class SamplesTest {

    private static List<String> run(Sample sample) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            sample.run(out);
        }
        return bytes.toString(StandardCharsets.UTF_8).lines().toList();
    }

    /** The blog post's JavaScript example, line for line, in this order. */
    @Test
    void sleepPrintsTheSevenLinesInOrder() throws Exception {
        assertThat(run(new SleepSample())).containsExactly(
                "before!",
                "sleep...",
                "stack unwound",
                "(an event that happens during the sleep)",
                "timeout ended, starting to rewind the stack",
                "...resume",
                "after!");
    }

    @Test
    void pureWasmPrintsOneTwoThree() throws Exception {
        assertThat(run(new PureWasmSample())).containsExactly("1 : i32", "2 : i32", "3 : i32");
    }

    @Test
    void generatorCoroutinesInterleaveAndFinish() throws Exception {
        List<String> lines = run(new GeneratorSample());
        assertThat(lines).contains("coroutine A finished, sum 1020", "coroutine B finished, sum 2020");
        assertThat(lines.stream().filter(l -> l.contains("yielded")).count()).isEqualTo(10);
        // Interleaved: B yields before A has yielded its last value.
        int firstB = lines.indexOf(lines.stream().filter(l -> l.startsWith("coroutine B yielded")).findFirst().orElseThrow());
        int lastA = lines.lastIndexOf(lines.stream().filter(l -> l.startsWith("coroutine A yielded")).reduce((a, b) -> b).orElseThrow());
        assertThat(firstB).isLessThan(lastA);
    }

    @Test
    void everySampleIsListed() {
        assertThat(Samples.all()).extracting(Sample::name).containsExactly("sleep", "generator", "pure-wasm", "timeslice");
    }
}
