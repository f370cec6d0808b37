package io.asyncify4j.spectest;

import static org.assertj.core.api.Assertions.assertThat;

import io.asyncify4j.spectest.report.CommandFailure;
import io.asyncify4j.spectest.report.ScriptResult;
import io.asyncify4j.spectest.wast.WastConverter;
import io.asyncify4j.spectest.wast.WastScript;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Runs {@code mini.wast} (every command kind, plus three deliberately failing assertions at lines
 * 68-70) through the harness.
 */
class MiniScriptTest {
    private static final int COMMANDS = 39;
    private static final List<Integer> FAILING_LINES = List.of(68, 69, 70);

    private static Path script;
    private static WastConverter converter;

    @BeforeAll
    static void setUp() throws Exception {
        Path dir = Files.createDirectories(Path.of("target", "mini-test"));
        script = dir.resolve("mini.wast");
        try (var in = MiniScriptTest.class.getResourceAsStream("mini.wast")) {
            Files.copy(in, script, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        converter = new WastConverter(Path.of("target", "wast2json-cache"));
    }

    private static SpecTestRunner.Builder runner() {
        return SpecTestRunner.builder().converter(converter);
    }

    @Test
    void everyCommandKindRunsAndFailuresAreDetected() {
        List<String> printed = Collections.synchronizedList(new ArrayList<>());
        ScriptResult r = runner().printSink(printed::add).build().runScript(script, SpecMode.PLAIN);

        assertThat(r.ran()).as("converted: %s", r.skipReason()).isTrue();
        assertThat(r.failures()).extracting(CommandFailure::line).containsExactlyElementsOf(FAILING_LINES);
        assertThat(r.passed()).isEqualTo(COMMANDS - 3 - 1);
        assertThat(r.failed()).isEqualTo(3);
        // the text-format assert_malformed (module quote) that wabt leaves as .wat
        assertThat(r.skipped()).isEqualTo(1);
        assertThat(r.skips()).singleElement().asString().startsWith("57: text module");
        assertThat(printed).containsExactly("666 : i32", "3.5 : f64");

        CommandFailure wrongValue = r.failures().get(0);
        assertThat(wrongValue.expected()).isEqualTo("[i32:5]");
        assertThat(wrongValue.actual()).startsWith("[i32:4]");
        assertThat(wrongValue.format()).startsWith("mini.wast:68: assert_return invoke $M1.\"add\"(i32:2, i32:2)");
        CommandFailure noTrap = r.failures().get(1);
        assertThat(noTrap.expected()).isEqualTo("trap \"integer overflow\"");
        assertThat(noTrap.actual()).isEqualTo("returned [i32:2]");
        CommandFailure nan = r.failures().get(2);
        assertThat(nan.expected()).isEqualTo("[f64:nan:canonical]");
        assertThat(nan.actual()).contains("nan:0x8000000000001");
    }

    @Test
    void expectedFailuresAreCountedAsSkippedAndStaleEntriesWarn() {
        ExpectedFailures list = ExpectedFailures.parse(String.join("\n",
                "mini.wast:68  deliberately wrong expectation",
                "mini.wast:31  listed although it passes",
                "mini.wast:999  no such command"), "test-list");
        ScriptResult r = runner().expectedFailures(list).build().runScript(script, SpecMode.PLAIN);

        assertThat(r.failed()).isEqualTo(2);
        assertThat(r.expectedFailures()).isEqualTo(1);
        assertThat(r.skippedTotal()).isEqualTo(2);
        assertThat(r.expectedFailureDetails()).singleElement()
                .satisfies(f -> assertThat(f.expectedFailureReason()).isEqualTo("deliberately wrong expectation"));
        assertThat(r.warnings()).hasSize(2);
        assertThat(r.warnings().get(0)).contains("mini.wast:31").contains("passed");
        assertThat(r.warnings().get(1)).contains("mini.wast:999").contains("matches no command");
    }

    @Test
    void anEntryWhoseOutcomeVariesCountsAsExpectedFailureWhenItPassesToo() {
        // Regression: Math.min/max of a signalling and a quiet NaN answers differently once HotSpot
        // compiles it, which moved four f32/f64 failures to the neighbouring lines in one CI run.
        ExpectedFailures list = ExpectedFailures.parse(String.join("\n",
                "mini.wast:68  varies: fails here",
                "mini.wast:31  varies: passes here"), "test-list");
        ScriptResult r = runner().expectedFailures(list).build().runScript(script, SpecMode.PLAIN);

        assertThat(r.failed()).isEqualTo(2); // lines 69 and 70
        assertThat(r.expectedFailures()).isEqualTo(2);
        assertThat(r.passed()).isEqualTo(COMMANDS - 3 - 1 - 1);
        assertThat(r.expectedFailureDetails()).extracting(CommandFailure::line).containsExactlyInAnyOrder(68, 31);
        assertThat(r.warnings()).isEmpty();
    }

    @Test
    void wholeScriptEntryCoversEveryFailure() {
        ExpectedFailures list = ExpectedFailures.parse("mini.wast  all of it", "test-list");
        ScriptResult r = runner().expectedFailures(list).build().runScript(script, SpecMode.PLAIN);
        assertThat(r.failed()).isZero();
        assertThat(r.expectedFailures()).isEqualTo(3);
        assertThat(r.warnings()).isEmpty();
    }

    @Test
    void transformFailuresFailModulesAndSkipTheirCommands() throws Exception {
        WastScript parsed = WastScript.load("mini.wast", script, converter.convert(script).json());
        ModePipeline broken = new ModePipeline() {
            @Override
            public byte[] prepare(byte[] wasm) {
                throw new IllegalStateException("boom");
            }

            @Override
            public String rejects(byte[] wasm) {
                return "rejected by the test pipeline";
            }
        };
        ScriptResult r = new ScriptRunner(parsed, "broken", broken, line -> {}, ExpectedFailures.none(), Duration.ofSeconds(30)).run();

        // 4 module commands, assert_unlinkable and the instantiation assert_trap fail with the transform error
        assertThat(r.failures()).extracting(CommandFailure::line).containsExactly(4, 58, 59, 60, 61, 63);
        assertThat(r.failures()).allSatisfy(f -> assertThat(f.actual()).contains("broken transform failed: IllegalStateException: boom"));
        // assert_invalid and the binary assert_malformed are rejected by the pipeline itself: passes
        assertThat(r.passed()).isEqualTo(2);
        // everything acting on a module that did not load is skipped
        assertThat(r.skips()).anyMatch(s -> s.startsWith("31: module of line 4 did not load"));
        assertThat(r.passed() + r.failed() + r.skipped()).isEqualTo(COMMANDS);
    }

    @Test
    void timeoutsFailTheCommandAndTheScriptGoesOn() throws Exception {
        Path dir = Files.createDirectories(Path.of("target", "mini-test"));
        Path loop = dir.resolve("loop.wast");
        Files.writeString(loop, String.join("\n",
                "(module (func (export \"spin\") (loop (br 0))) (func (export \"one\") (result i32) (i32.const 1)))",
                "(assert_return (invoke \"spin\"))",
                "(assert_return (invoke \"one\") (i32.const 1))",
                ""));
        ScriptResult r = runner().commandTimeout(Duration.ofMillis(500)).build().runScript(loop, SpecMode.PLAIN);
        assertThat(r.failures()).singleElement().satisfies(f -> {
            assertThat(f.line()).isEqualTo(2);
            assertThat(f.actual()).isEqualTo("timed out");
        });
        assertThat(r.passed()).isEqualTo(2);
    }
}
