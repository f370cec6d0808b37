package io.asyncify4j.wasm.codec;

import static org.assertj.core.api.Assertions.assertThat;

import com.dylibso.chicory.wabt.Wast2Json;
import run.endive.wasm.WasmEngineException;
import run.endive.wasm.Parser;
import io.asyncify4j.wasm.binary.MalformedModuleException;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.testutil.RoundTrip;
import io.asyncify4j.wasm.testutil.Wat;
import io.asyncify4j.wasm.typing.FunctionTyping;
import io.asyncify4j.wasm.typing.StackState;
import io.asyncify4j.wasm.typing.StackTyper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Round-trips the binary modules of a representative subset of the WebAssembly spec testsuite (the full
 * suite is run by the spec harness): every module Endive accepts must round-trip structurally and
 * idempotently, stay acceptable to Endive with identical instruction streams, and type with
 * {@link StackTyper}. Skipped when the testsuite is not available.
 */
class SpecSuiteRoundTripTest {

    /** Scripts chosen to cover the features; all convert with Chicory's wast2json. */
    private static final List<String> SCRIPTS = List.of(
            "block.wast",
            "loop.wast",
            "if.wast",
            "br_table.wast",
            "call_indirect.wast",
            "memory.wast",
            "binary-leb128.wast",
            "custom.wast",
            "names.wast",
            "float_literals.wast",
            "float_exprs.wast",
            "global.wast",
            "conversions.wast",
            "unreached-valid.wast",
            "select.wast",
            "elem.wast",
            "data.wast",
            "bulk.wast",
            "ref_func.wast",
            "table_grow.wast",
            "simd_lane.wast",
            "simd_const.wast",
            "simd_load8_lane.wast",
            "simd_store.wast",
            "proposals/multi-memory/load.wast",
            "proposals/multi-memory/memory_copy1.wast",
            "proposals/tail-call/return_call.wast",
            "proposals/tail-call/return_call_indirect.wast",
            "proposals/extended-const/global.wast",
            "proposals/threads/atomic.wast");

    private static Path testsuite() {
        String env = System.getenv("WASM_TESTSUITE");
        if (env != null && !env.isBlank()) {
            return Paths.get(env);
        }
        String root = System.getProperty("asyncify4j.repoRoot");
        return root == null ? null : Paths.get(root, "..", "shared", "wasm-testsuite").normalize();
    }

    @TestFactory
    Stream<DynamicTest> specScriptsRoundTrip() {
        Path suite = testsuite();
        Assumptions.assumeTrue(suite != null && Files.isDirectory(suite),
                "wasm testsuite not found (set WASM_TESTSUITE or asyncify4j.repoRoot)");
        return SCRIPTS.stream().map(s -> DynamicTest.dynamicTest(s, () -> checkScript(suite.resolve(s))));
    }

    private static void checkScript(Path script) throws IOException {
        assertThat(script).exists();
        Path dir = Files.createTempDirectory("asyncify4j-spec");
        try {
            Wast2Json.builder().withFile(script.toFile()).withOutput(dir.resolve("out.json").toFile())
                    .withOptions(new String[] {"--enable-all"}).build().process();
            List<Path> wasms = new ArrayList<>();
            try (Stream<Path> files = Files.list(dir)) {
                files.filter(p -> p.toString().endsWith(".wasm")).sorted().forEach(wasms::add);
            }
            assertThat(wasms).as("modules in %s", script).isNotEmpty();
            int accepted = 0;
            for (Path wasm : wasms) {
                byte[] bytes = Files.readAllBytes(wasm);
                String what = script.getFileName() + "/" + wasm.getFileName();
                if (!engineAccepts(bytes)) {
                    // Invalid or malformed on purpose: our decoder may refuse it, but only as malformed.
                    try {
                        WasmCodec.decode(bytes);
                    } catch (MalformedModuleException expected) {
                        // fine
                    } catch (RuntimeException e) {
                        throw new AssertionError(what + ": decoder threw " + e, e);
                    }
                    continue;
                }
                accepted++;
                try {
                    checkModule(bytes);
                } catch (AssertionError | RuntimeException e) {
                    throw new AssertionError(what + ": " + e.getMessage(), e);
                }
            }
            assertThat(accepted).as("modules Endive accepts in %s", script).isPositive();
        } finally {
            Wat.deleteTree(dir);
        }
    }

    private static boolean engineAccepts(byte[] bytes) {
        try {
            Parser.parse(bytes);
            return true;
        } catch (WasmEngineException e) {
            return false;
        } catch (RuntimeException e) {
            return false; // Endive's own robustness is not under test here
        }
    }

    private static void checkModule(byte[] original) {
        RoundTrip.Result r = RoundTrip.check(original);
        RoundTrip.assertSameEngineCode(original, r.encoded());
        ModuleModel m = r.model();
        int imported = m.importedFunctionCount();
        for (int i = 0; i < m.functions().size(); i++) {
            int funcIndex = imported + i;
            FunctionTyping typing = StackTyper.type(m, funcIndex);
            StackState end = typing.atEnd(m.functions().get(i).body());
            FuncType type = m.functionType(funcIndex);
            assertThat(end.frameHeights()).containsExactly(0);
            if (!end.unreachable()) {
                assertThat(end.height()).as("final stack height of function %d", funcIndex)
                        .isEqualTo(type.results().size());
                for (int k = 0; k < end.height(); k++) {
                    assertThat(end.stack()[k].kind()).as("result %d of function %d", k, funcIndex)
                            .isEqualTo(type.results().get(k).kind());
                }
            } else {
                assertThat(end.height()).isLessThanOrEqualTo(type.results().size());
            }
        }
    }
}
