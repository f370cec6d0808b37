package io.asyncify4j.adversarial;

import static org.assertj.core.api.Assertions.assertThat;

import io.asyncify4j.spectest.wast.CommandKind;
import io.asyncify4j.wasm.binary.WasmFormatException;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.typing.InvalidModuleException;
import io.asyncify4j.wasm.validation.Validator;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The validator over the spec testsuite's default selection: it accepts every module the scripts load
 * (that our decoder decodes), and rejects most modules the scripts assert to be invalid.
 */
class SpecValidationTest {
    private static final Logger LOG = LoggerFactory.getLogger(SpecValidationTest.class);

    /** Share of decodable assert_invalid modules the validator must reject (measured: see docs/FUZZING.md). */
    private static final double MIN_INVALID_COVERAGE = 0.97;

    @Test
    void acceptsEveryValidModuleAndRejectsInvalidOnes() throws Exception {
        Optional<Path> suite = SeedCorpus.testsuite();
        Assumptions.assumeTrue(suite.isPresent(), "spec testsuite not found (../shared/wasm-testsuite)");
        List<SeedCorpus.SpecModule> modules = SeedCorpus.specModules(suite.get());

        List<String> wronglyRejected = new ArrayList<>();
        List<String> missed = new ArrayList<>();
        int valid = 0;
        int invalid = 0;
        int rejectedByDecoder = 0;
        int rejectedByValidator = 0;
        for (SeedCorpus.SpecModule m : modules) {
            String where = m.script() + ":" + m.line();
            if (m.kind() == CommandKind.ASSERT_INVALID) {
                invalid++;
                ModuleModel model;
                try {
                    model = WasmCodec.decode(m.bytes());
                } catch (WasmFormatException e) {
                    rejectedByDecoder++;
                    continue;
                }
                try {
                    Validator.validate(model);
                    missed.add(where);
                } catch (InvalidModuleException e) {
                    rejectedByValidator++;
                }
            } else if (m.kind() != CommandKind.ASSERT_MALFORMED) {
                ModuleModel model;
                try {
                    model = WasmCodec.decode(m.bytes());
                } catch (WasmFormatException e) {
                    continue; // e.g. legacy exception handling, which the codec does not read
                }
                valid++;
                try {
                    Validator.validate(model);
                } catch (InvalidModuleException e) {
                    wronglyRejected.add(where + ": " + e.getMessage());
                }
            }
        }
        int decodable = invalid - rejectedByDecoder;
        LOG.info("validator on the spec suite: {} valid modules accepted ({} rejected); assert_invalid: {} modules, "
                        + "{} rejected by the decoder, {} of the other {} rejected by the validator ({} missed: {})",
                valid - wronglyRejected.size(), wronglyRejected.size(), invalid, rejectedByDecoder,
                rejectedByValidator, decodable, missed.size(), missed);
        assertThat(wronglyRejected).as("valid spec modules the validator rejects").isEmpty();
        assertThat(valid).as("valid modules checked").isGreaterThan(1000);
        assertThat((double) rejectedByValidator / decodable)
                .as("share of decodable assert_invalid modules rejected; missed: " + missed)
                .isGreaterThanOrEqualTo(MIN_INVALID_COVERAGE);
    }
}
