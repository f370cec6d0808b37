package io.asyncify4j.spectest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ExpectedFailuresTest {

    @Test
    void parsesLineAndWholeScriptEntries() {
        ExpectedFailures list = ExpectedFailures.parse(String.join("\n",
                "# comment",
                "",
                "i32.wast:12   some reason",
                "simd_lane.wast  every command",
                "proposals/threads/atomic.wast:7\tanother reason"), "test");
        assertThat(list.entries()).hasSize(3);
        assertThat(list.lookup("i32.wast", 12).reason()).isEqualTo("some reason");
        assertThat(list.lookup("i32.wast", 13)).isNull();
        assertThat(list.lookup("simd_lane.wast", 99).wholeScript()).isTrue();
        assertThat(list.lookup("proposals/threads/atomic.wast", 7).source()).isEqualTo("test:5");
        assertThat(list.lineEntries("i32.wast")).extracting(ExpectedFailures.Entry::line).containsExactly(12);
    }

    @Test
    void everyEntryNeedsAReason() {
        assertThatThrownBy(() -> ExpectedFailures.parse("i32.wast:12", "x"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("x:1")
                .hasMessageContaining("no reason");
    }

    @Test
    void rejectsBadKeys() {
        assertThatThrownBy(() -> ExpectedFailures.parse("i32.wast:abc  r", "x")).hasMessageContaining("bad line number");
        assertThatThrownBy(() -> ExpectedFailures.parse("i32.wast:0  r", "x")).hasMessageContaining("bad line number");
        assertThatThrownBy(() -> ExpectedFailures.parse("i32.wat:3  r", "x")).hasMessageContaining("does not name a .wast");
        assertThatThrownBy(() -> ExpectedFailures.parse("i32.wast:3  r\ni32.wast:3  again", "x")).hasMessageContaining("duplicate");
    }

    @Test
    void bundledListIsWellFormed() {
        ExpectedFailures bundled = ExpectedFailures.bundled();
        assertThat(bundled.entries()).isNotEmpty();
        assertThat(bundled.entries()).allSatisfy(e -> {
            assertThat(e.reason()).isNotBlank();
            assertThat(e.script()).endsWith(".wast");
        });
    }

    @Test
    void scriptIdsAreRelativeToTheTestsuiteRoot() {
        java.nio.file.Path root = java.nio.file.Path.of("/suite");
        assertThat(Testsuite.scriptId(root, root.resolve("proposals/threads/atomic.wast"))).isEqualTo("proposals/threads/atomic.wast");
        assertThat(Testsuite.scriptId(root, java.nio.file.Path.of("/elsewhere/x.wast"))).isEqualTo("x.wast");
        assertThat(Testsuite.scriptId(null, java.nio.file.Path.of("/elsewhere/x.wast"))).isEqualTo("x.wast");
    }
}
