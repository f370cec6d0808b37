package io.asyncify4j.adversarial;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The mutator's own parsing must stop on any bytes: it runs on every case, outside the per-case timeout. */
class MutatorTest {
    private static final byte[] HEADER = {0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00};

    /**
     * A section size of 2^63 - 10 (nine LEB128 bytes): the end it gives overflows a long, and its low 32
     * bits are -10, which took the scan back to where it started, forever (the fuzzer's main thread ran
     * out of heap on case 1,473,282 of seed 1).
     */
    @Test
    void aSectionSizeThatOverflowsEndsTheScan() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(HEADER);
        b.write(0x01); // type section id
        b.writeBytes(Mutator.leb(Long.MAX_VALUE - 9, 0));
        b.writeBytes(new byte[] {0x01, 0x60, 0x00, 0x00});
        byte[] wasm = b.toByteArray();
        assertThat(Mutator.readLeb(wasm, 9)).isEqualTo(Long.MAX_VALUE - 9);
        List<Mutator.Section> sections = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> Mutator.sections(wasm));
        assertThat(sections).isEmpty();
    }

    @Test
    void sectionsOfAWellFormedModule() {
        byte[] wasm = {0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
                0x03, 0x02, 0x01, 0x00};
        assertThat(Mutator.sections(wasm)).containsExactly(new Mutator.Section(1, 8, 14), new Mutator.Section(3, 14, 18));
    }
}
