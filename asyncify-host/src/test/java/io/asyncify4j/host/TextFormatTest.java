package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The text format is optional: present, it parses; absent, the error says which artifact to add. */
class TextFormatTest {

    @Test
    void parsesWithTheTextFormatArtifactPresent() {
        assertThat(TextFormat.parse("(module)")).startsWith(0x00, 0x61, 0x73, 0x6d);
    }

    @Test
    void withoutItTheErrorNamesTheArtifactToAdd() {
        assertThatThrownBy(() -> TextFormat.parse("(module)", "com.dylibso.chicory.wabt.Absent"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("com.dylibso.chicory:wabt")
                .hasMessageContaining("binary format");
    }
}
