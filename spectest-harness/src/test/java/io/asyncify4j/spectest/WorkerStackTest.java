package io.asyncify4j.spectest;

import static org.assertj.core.api.Assertions.assertThat;

import io.asyncify4j.spectest.report.ScriptResult;
import io.asyncify4j.spectest.wast.WastConverter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The harness's worker stack ({@link SpecTestRunner#DEFAULT_STACK_SIZE}) is the guest's call-depth
 * limit: deep enough for what the testsuite expects to return (and for skip-stack-guard-page.wast to
 * reach its 1056-local function), shallow enough that an {@code assert_exhaustion} does not build
 * gigabytes of interpreter frames. Regression: on 16 MiB stacks guests recursed up to 52,000 calls deep,
 * and skip-stack-guard-page.wast's chaos-mode commands exceeded the 120 s limit on a busy machine.
 */
class WorkerStackTest {
    private static final int RUNS = 3;
    /** skip-stack-guard-page.wast nests 901 calls before its heavy function; call.wast returns from 200. */
    private static final int DEEP_ENOUGH = 1_000;
    /**
     * Each frame of skip-stack-guard-page.wast's heavy function holds about 21 KB: 25,000 frames are
     * 525 MB. (Measured on JDK 17, deepest of three runs: 4 MiB stacks reach 4,400-4,800 calls plain and
     * 11,600 in chaos mode; 16 MiB stacks 26,700-28,200 and 38,600-47,400.)
     */
    private static final int SHALLOW_ENOUGH = 25_000;

    @ParameterizedTest
    @EnumSource(value = SpecMode.class, names = {"PLAIN", "CHAOS"})
    void guestsExhaustTheStackPastTheSuitesDepthAndFarBeforeTheOld16MiB(SpecMode mode) throws Exception {
        Path dir = Files.createDirectories(Path.of("target", "worker-stack-test"));
        Path script = dir.resolve("depth.wast");
        List<String> lines = new ArrayList<>(List.of(
                "(module",
                "  (import \"spectest\" \"print_i32\" (func $print (param i32)))",
                "  (global $depth (mut i32) (i32.const 0))",
                "  (func $down (export \"down\")",
                "    (global.set $depth (i32.add (global.get $depth) (i32.const 1)))",
                "    (call $down))",
                "  (func (export \"report\") (call $print (global.get $depth)) (global.set $depth (i32.const 0))))"));
        // The depth varies with what the JIT has compiled (interpreted Java frames are larger): the
        // deepest of a few runs is the one to bound.
        for (int i = 0; i < RUNS; i++) {
            lines.add("(assert_exhaustion (invoke \"down\") \"call stack exhausted\")");
            lines.add("(invoke \"report\")");
        }
        Files.writeString(script, String.join("\n", lines) + "\n");
        List<String> printed = Collections.synchronizedList(new ArrayList<>());
        ScriptResult r = SpecTestRunner.builder()
                .converter(new WastConverter(Path.of("target", "wast2json-cache")))
                .printSink(printed::add)
                .build()
                .runScript(script, mode);

        assertThat(r.failures()).isEmpty();
        assertThat(r.passed()).isEqualTo(1 + 2 * RUNS);
        assertThat(printed).hasSize(RUNS).allSatisfy(p -> assertThat(p).endsWith(" : i32"));
        int deepest = printed.stream().mapToInt(p -> Integer.parseInt(p.substring(0, p.indexOf(' ')))).max().orElseThrow();
        System.out.printf("guest call depth at exhaustion on a %d MiB worker stack [%s]: %s%n",
                SpecTestRunner.DEFAULT_STACK_SIZE >> 20, mode.id(), printed);
        assertThat(deepest).isBetween(DEEP_ENOUGH, SHALLOW_ENOUGH);
    }
}
