package io.asyncify4j.adversarial;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A bounded run of the mutation fuzzer over the C workloads, the spec modules (when the testsuite is
 * found) and the random corpus: every mutant must meet only typed outcomes, finish within the case
 * timeout and fit the forked JVM's heap. Findings are saved under target/fuzz-findings.
 */
class MutationFuzzTest {
    private static final Logger LOG = LoggerFactory.getLogger(MutationFuzzTest.class);
    static final long SEED = 20261201L;
    static final long CASES = Long.getLong("asyncify4j.fuzzCases", 8000);

    @Test
    void mutantsMeetOnlyTypedOutcomes() throws Exception {
        List<SeedCorpus.Seed> seeds = new ArrayList<>(SeedCorpus.defaults());
        seeds.addAll(SeedCorpus.directory(SeedCorpus.repoRoot().resolve("adversarial/src/test/resources/random")));
        assertThat(seeds).hasSizeGreaterThan(3);
        Fuzzer.Report report = Fuzzer.run(seeds, new Fuzzer.Config(SEED, CASES, Duration.ofSeconds(90),
                Duration.ofSeconds(60), Path.of("target", "fuzz-findings")), LOG::info);
        LOG.info("fuzz: {} cases in {} s over {} seeds; outcomes {}", report.cases(),
                String.format("%.1f", report.seconds()), seeds.size(), report.outcomes());
        assertThat(report.findings()).as("findings (mutants saved in %s)", report.saved()).isEmpty();
        assertThat(report.cases()).isGreaterThan(100);
        // The run reached every stage, so the outcomes above are not all early rejections.
        assertThat(report.outcomes().keySet()).anyMatch(k -> k.startsWith("host-calls="))
                .anyMatch(k -> k.startsWith("transform=ok"))
                .anyMatch(k -> k.startsWith("validate=InvalidModuleException"))
                .anyMatch(k -> k.startsWith("decode=MalformedModuleException"));
    }
}
