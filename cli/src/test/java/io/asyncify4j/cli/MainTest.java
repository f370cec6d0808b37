package io.asyncify4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the CLI in-process. */
class MainTest {

    private record Result(int code, String out, String err) {}

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Result(code, out.toString(), err.toString());
    }

    private static String resource(String name) {
        try {
            return Path.of(MainTest.class.getResource("/" + name).toURI()).toString();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void helpListsTheSubcommands() {
        Result r = run("--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("spectest", "shell", "info");
        for (String sub : new String[] {"spectest", "shell", "info"}) {
            Result h = run(sub, "--help");
            assertThat(h.code()).as(sub).isZero();
            assertThat(h.out()).as(sub).contains("Usage: asyncify4j " + sub);
        }
    }

    @Test
    void fuzzRunsABoundedCampaignOverACorpusAndReportsTypedOutcomes(@TempDir Path dir) throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        Files.copy(Path.of(resource("hello.wat")).resolveSibling("fuzz-seed.wasm"), corpus.resolve("seed.wasm"));
        Result r = run("fuzz", "--corpus", corpus.toString(), "--cases", "60", "--seconds", "60", "--seed", "7",
                "--out", dir.resolve("findings").toString());
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("60 cases in", "decode=", "no findings");
        assertThat(dir.resolve("findings")).doesNotExist();

        Result replay = run("fuzz", "--replay", corpus.resolve("seed.wasm").toString());
        assertThat(replay.code()).as(replay.out() + replay.err()).isZero();
        assertThat(replay.out()).contains("validate=ok", "host-calls=");
    }

    @Test
    void fuzzWithoutSeedsIsAUsageError(@TempDir Path dir) {
        assertThat(run("fuzz", "--corpus", dir.toString(), "--cases", "1").code()).isEqualTo(2);
    }

    private static Path workload(String name) {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("workloads").resolve(name))) {
                return p.resolve("workloads").resolve(name);
            }
        }
        throw new IllegalStateException("no workloads/" + name + " above the working directory");
    }

    @Test
    void benchRunsTheVariantsOnTheCompilerWithAMeteredOne(@TempDir Path dir) throws Exception {
        Files.copy(workload("nbody.wasm"), dir.resolve("nbody.wasm"));
        Result r = run("bench", "--engine", "compiler", "--scale", "1", "--warmup", "0", "--iterations", "1",
                "--no-large", "--no-binaryen", "--workloads", dir.toString());
        if (!io.asyncify4j.engine.Engines.compilerSupported()) {
            // The endive-latest profile: a usage error in one line, not a stack trace.
            assertThat(r.code()).as(r.out() + r.err()).isEqualTo(2);
            assertThat(r.err().strip()).startsWith("asyncify4j bench: Endive's compiler").doesNotContain("\n");
            return;
        }
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("compiler", "| ours, metered |", "| nbody.wasm | 100000 |",
                "| workload | plain | ours | ours-suspending | ours-interpreter-shape | ours-metered "
                        + "| ours-metered-interpreter-shape | metered code |",
                "| ours, metered, interpreter's shape |",
                "nbody.wasm: run time ours metered");
        assertThat(r.out()).doesNotContain("FAILURES");
    }

    @Test
    void benchRefusesAnUnknownEngineAndUnscalableWorkloads(@TempDir Path dir) throws Exception {
        Files.copy(workload("nbody.wasm"), dir.resolve("other.wasm"));
        assertThat(run("bench", "--engine", "jit", "--workloads", dir.toString()).code()).isEqualTo(2);
        Result r = run("bench", "--scale", "2", "--workloads", dir.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("other.wasm");
    }

    @Test
    void noSubcommandIsAUsageError() {
        assertThat(run().code()).isEqualTo(2);
        assertThat(run("frobnicate").code()).isEqualTo(2);
    }

    @Test
    void infoDescribesAWatModule() {
        Result r = run("info", resource("hello.wat"));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out())
                .contains("imports: 1")
                .contains("spectest.print_i32: func (i32) -> ()")
                .contains("exports: 3")
                .contains("add: func (i32, i32) -> (i32)")
                .contains("mem: memory 1..2")
                .contains("answer: global i32")
                .contains("functions: 3 (1 imported, 2 defined)")
                .containsPattern("instructions: \\d+")
                .containsPattern("type +\\d+ bytes")
                .containsPattern("code +\\d+ bytes");
    }

    @Test
    void shellRunsTheStartFunctionAndPrints() {
        Result r = run("shell", resource("hello.wat"));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("1 : i32" + System.lineSeparator());
    }

    @Test
    void shellInvokesAnExport() {
        Result r = run("shell", resource("hello.wat"), "--invoke", "add", "40", "2");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out().lines()).containsExactly("1 : i32", "42 : i32");
    }

    @Test
    void shellRunsAScriptAndFailsOnAssertionFailures() {
        Result r = run("shell", resource("script.wast"));
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).contains("3.5 : f64");
        assertThat(r.out()).contains("FAIL script.wast:7: assert_trap");
        assertThat(r.out().lines().reduce((a, b) -> b).orElseThrow()).isEqualTo("3 passed, 1 failed, 0 skipped");
    }

    @Test
    void spectestRunsAScript() {
        Result r = run("spectest", resource("script.wast"));
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).contains("[plain] script.wast: 3 passed, 1 failed, 0 skipped");
        assertThat(r.out().lines().reduce((a, b) -> b).orElseThrow()).isEqualTo("3 passed, 1 failed, 0 skipped");
    }

    @Test
    void spectestWritesJson(@TempDir Path tmp) throws Exception {
        Path json = tmp.resolve("report.json");
        Result r = run("spectest", "--mode", "plain,roundtrip", "--json", json.toString(), resource("script.wast"));
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out().lines().reduce((a, b) -> b).orElseThrow()).isEqualTo("6 passed, 2 failed, 0 skipped");
        String text = Files.readString(json);
        assertThat(text).contains("\"mode\" : \"plain\"", "\"mode\" : \"roundtrip\"", "\"script\" : \"script.wast\"", "\"line\" : 7");
    }

    @Test
    void badPathsAreBadInput() {
        Result r = run("info", "no/such/file.wasm");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("asyncify4j info: no such file: no/such/file.wasm");
        assertThat(run("shell", "no/such/file.wat").code()).isEqualTo(2);
        assertThat(run("spectest", "no/such/dir").code()).isEqualTo(2);
        assertThat(run("spectest", "--testsuite", "no/such/dir").code()).isEqualTo(2);
    }

    @Test
    void unparsableModulesAreBadInput() {
        Result r = run("shell", resource("broken.wat"));
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("cannot parse").contains("error").doesNotContain("\tat ");
        assertThat(r.err().lines()).hasSize(1);
    }

    @Test
    void badModeIsAUsageError() {
        Result r = run("spectest", "--mode", "nonsense", resource("script.wast"));
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("unknown mode 'nonsense'");
    }
}
