package io.asyncify4j.spectest;

import static org.assertj.core.api.Assertions.assertThat;

import io.asyncify4j.spectest.report.ScriptResult;
import io.asyncify4j.spectest.wast.WastConverter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WastConverterTest {

    @Test
    void conversionsAreCachedByContent(@TempDir Path tmp) throws Exception {
        Path wast = tmp.resolve("tiny.wast");
        Files.writeString(wast, "(module (func (export \"f\") (result i32) (i32.const 1)))\n(assert_return (invoke \"f\") (i32.const 1))\n");
        WastConverter converter = new WastConverter(tmp.resolve("cache"));

        WastConverter.Conversion first = converter.convert(wast);
        assertThat(first.converted()).isTrue();
        assertThat(first.cached()).isFalse();
        assertThat(first.json().getFileName().toString()).isEqualTo("tiny.json");
        assertThat(first.json().resolveSibling("tiny.0.wasm")).exists();

        WastConverter.Conversion second = new WastConverter(tmp.resolve("cache")).convert(wast);
        assertThat(second.cached()).isTrue();
        assertThat(second.json()).isEqualTo(first.json());

        Files.writeString(wast, "(module)\n");
        WastConverter.Conversion edited = converter.convert(wast);
        assertThat(edited.cached()).isFalse();
        assertThat(edited.json()).isNotEqualTo(first.json());
    }

    @Test
    void scriptsWabtCannotConvertAreSkippedWithTheReason(@TempDir Path tmp) throws Exception {
        Path wast = tmp.resolve("bad.wast");
        Files.writeString(wast, "(module (func (this is not wasm)))\n");
        WastConverter converter = new WastConverter(tmp.resolve("cache"));

        WastConverter.Conversion c = converter.convert(wast);
        assertThat(c.converted()).isFalse();
        assertThat(c.failure()).startsWith("wast2json: bad.wast:1:").contains("error:");
        assertThat(converter.convert(wast).cached()).isTrue();

        ScriptResult r = SpecTestRunner.builder().converter(converter).build().runScript(wast, SpecMode.PLAIN);
        assertThat(r.ran()).isFalse();
        assertThat(r.failed()).isZero();
        assertThat(r.skipped()).isEqualTo(1);
        assertThat(r.skipReason()).isEqualTo(c.failure());
    }
}
