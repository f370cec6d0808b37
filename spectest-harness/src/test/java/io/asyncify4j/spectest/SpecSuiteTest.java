package io.asyncify4j.spectest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.asyncify4j.spectest.report.CommandFailure;
import io.asyncify4j.spectest.report.SuiteReport;
import io.asyncify4j.spectest.wast.WastConverter;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The WebAssembly spec testsuite (core scripts plus proposals multi-memory, tail-call, threads,
 * extended-const and exception-handling) in each mode: no failure beyond the expected-failure list.
 * Skipped (not failed) when the testsuite is not found (see {@link Testsuite}).
 */
class SpecSuiteTest {

    private static Path testsuite() {
        Optional<Path> root = Testsuite.locate(null, List.of());
        assumeTrue(root.isPresent(), "WebAssembly testsuite not found (looked in "
                + Testsuite.candidates(List.of()) + "); set WASM_TESTSUITE to run the spec tests");
        return root.get();
    }

    private static SuiteReport run(SpecMode mode) throws Exception {
        Path root = testsuite();
        SuiteReport report = SpecTestRunner.builder()
                .testsuiteRoot(root)
                .converter(new WastConverter(Path.of("target", "wast2json-cache")))
                .expectedFailures(ExpectedFailures.bundled())
                .build()
                .run(Testsuite.defaultSelection(root), mode);
        System.out.printf("spec tests [%s]: %s (%d expected failures, %d scripts wabt cannot convert) in %.1f s%n",
                mode.id(), report.summaryLine(), report.expectedFailures(), report.scriptsNotRun(), report.millis() / 1000.0);
        report.warnings().forEach(w -> System.out.println("WARNING " + w));
        return report;
    }

    private static String describe(SuiteReport report) {
        List<CommandFailure> failures = report.failures();
        return report.summaryLine() + "\n" + failures.stream().limit(40).map(CommandFailure::format)
                .collect(Collectors.joining("\n")) + (failures.size() > 40 ? "\n... " + (failures.size() - 40) + " more" : "");
    }

    private static SuiteReport plain;

    private static synchronized SuiteReport plain() throws Exception {
        if (plain == null) {
            plain = run(SpecMode.PLAIN);
        }
        return plain;
    }

    @Test
    void plainModeHasNoUnexpectedFailures() throws Exception {
        SuiteReport report = plain();
        assertThat(report.passed()).isGreaterThan(20_000);
        assertThat(report.failed()).as(describe(report)).isZero();
    }

    /** Every module goes through {@code WasmCodec.roundTrip} before Endive loads it. */
    @Test
    @Tag("roundtrip")
    void roundtripModeHasNoUnexpectedFailures() throws Exception {
        SuiteReport report = run(SpecMode.ROUNDTRIP);
        assertThat(report.passed()).isGreaterThan(20_000);
        assertThat(report.failed()).as(describe(report)).isZero();
    }

    /** Every module asyncified for the worst case (all imports and indirect calls may unwind): same counts as plain. */
    @Test
    @Tag("asyncify")
    void asyncifyModeMatchesPlain() throws Exception {
        SuiteReport report = run(SpecMode.ASYNCIFY);
        assertThat(report.failed()).as(describe(report)).isZero();
        assertThat(report.passed()).isEqualTo(plain().passed());
        assertThat(report.skipped()).isEqualTo(plain().skipped());
    }

    /** Suspension points everywhere, suspended and resumed by the host: same counts as plain. */
    @Test
    @Tag("chaos")
    void chaosModeMatchesPlain() throws Exception {
        SuiteReport report = run(SpecMode.CHAOS);
        System.out.printf("spec tests [chaos]: %d suspensions%n", report.suspensions());
        assertThat(report.failed()).as(describe(report)).isZero();
        assertThat(report.passed()).isEqualTo(plain().passed());
        assertThat(report.skipped()).isEqualTo(plain().skipped());
        assertThat(report.suspensions()).as("chaos mode must actually suspend guests").isGreaterThan(50_000);
    }

    /** Fuel-metered with a tiny quantum, preempted by the host when it runs out: same counts as plain. */
    @Test
    @Tag("preempt")
    void preemptModeMatchesPlain() throws Exception {
        SuiteReport report = run(SpecMode.PREEMPT);
        System.out.printf("spec tests [preempt]: %d suspensions%n", report.suspensions());
        assertThat(report.failed()).as(describe(report)).isZero();
        assertThat(report.passed()).isEqualTo(plain().passed());
        assertThat(report.skipped()).isEqualTo(plain().skipped());
        assertThat(report.suspensions()).as("preempt mode must actually preempt guests").isGreaterThan(10_000);
    }
}
