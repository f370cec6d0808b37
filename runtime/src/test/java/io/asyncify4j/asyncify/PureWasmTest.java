package io.asyncify4j.asyncify;

import static org.assertj.core.api.Assertions.assertThat;

import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.wasm.WasmModule;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.Import;
import io.asyncify4j.wasm.model.ModuleModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Pure-wasm mode: the module drives its own unwinding and rewinding through {@code asyncify.*} imports,
 * which the transform replaces by the functions it generates.
 */
// A mis-transformed loop can spin forever instead of failing: bound every test.
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PureWasmTest {
    static Path seedExample() {
        String root = System.getProperty("asyncify4j.repoRoot");
        assertThat(root).as("system property asyncify4j.repoRoot (set by the build)").isNotNull();
        return Path.of(root, "samples/src/main/resources/io/asyncify4j/samples/pure-wasm-sleep.wat");
    }

    static String seedText() throws IOException {
        return Files.readString(seedExample());
    }

    /** Instantiates (running the start function) with spectest.print collecting its values; returns them. */
    static List<Long> printed(byte[] wasm) {
        Guest.Host host = new Guest.Host();
        WasmModule module = Guest.parse(wasm);
        Instance.builder(module).withImportValues(ImportValues.builder().withFunctions(host.functionsFor(module))
                .build()).build();
        return host.log.stream().filter(s -> s.startsWith("spectest.print["))
                .map(s -> Long.parseLong(s.substring("spectest.print[".length(), s.length() - 1))).toList();
    }

    static boolean importsRuntime(byte[] wasm) {
        return WasmCodec.decode(wasm).imports().stream()
                .anyMatch(i -> i.kind() == ExternalKind.FUNCTION && i.module().equals(AsyncifyAbi.RUNTIME_MODULE));
    }

    @Test
    void seedExamplePrintsOneTwoThreeOnlyWhenTransformed() throws IOException {
        byte[] original = Guest.named(seedText());
        assertThat(importsRuntime(original)).isTrue();
        // Untransformed, with the asyncify.* imports as no-op host stubs, it cannot pause.
        assertThat(printed(original)).containsExactly(1L, 3L, 2L, 1L, 3L);

        ModuleModel m = WasmCodec.decode(original);
        AsyncifyReport report = Asyncify.transform(m, AsyncifyOptions.builder().pureWasm(true).build());
        byte[] transformed = WasmCodec.encode(m);
        assertThat(printed(transformed)).containsExactly(1L, 2L, 3L);
        assertThat(importsRuntime(transformed)).as("asyncify.* imports are gone").isFalse();
        assertThat(m.imports()).extracting(Import::toString).containsExactly("spectest.print");
        assertThat(report.warnings()).isEmpty();
        assertThat(OptionsTest.instrumented(report)).containsExactly("$main");
        assertThat(m.exports()).extracting(e -> e.name()).contains(AsyncifyAbi.START_UNWIND, AsyncifyAbi.STOP_UNWIND,
                AsyncifyAbi.START_REWIND, AsyncifyAbi.STOP_REWIND, AsyncifyAbi.GET_STATE);
    }

    @Test
    void seedExampleWithAnImportListAndOtherDataLocations() throws IOException {
        byte[] original = Guest.named(seedText());
        // Only the runtime functions change the state: print is not an unwinding import.
        byte[] ignoring = Asyncify.transform(original, AsyncifyOptions.builder().pureWasm(true).ignoreImports(true).build());
        assertThat(printed(ignoring)).containsExactly(1L, 2L, 3L);
        byte[] listed = Asyncify.transform(original,
                AsyncifyOptions.builder().pureWasm(true).unwindingImports(List.of("nothing.*")).build());
        assertThat(printed(listed)).containsExactly(1L, 2L, 3L);
    }

    private static final String GET_STATE = """
            (module
              (import "spectest" "print" (func $print (param i32)))
              (import "asyncify" "start_unwind" (func $start_unwind (param i32)))
              (import "asyncify" "stop_unwind" (func $stop_unwind))
              (import "asyncify" "start_rewind" (func $start_rewind (param i32)))
              (import "asyncify" "stop_rewind" (func $stop_rewind))
              (import "asyncify" "get_state" (func $get_state (result i32)))
              (memory 1 1)
              (start $runtime)
              (func $main
                (call $print (i32.const 1))
                (call $sleep)
                (call $print (i32.const 3)))
              (func $sleep
                ;; no flag of its own: the asyncify state tells whether this is the resumption
                (if (i32.eq (call $get_state) (i32.const 2))
                  (then (call $stop_rewind))
                  (else
                    (i32.store (i32.const 16) (i32.const 24))
                    (i32.store (i32.const 20) (i32.const 1024))
                    (call $start_unwind (i32.const 16)))))
              (func $runtime
                (call $main)
                (call $print (i32.add (i32.const 100) (call $get_state)))
                (call $stop_unwind)
                (call $print (i32.const 2))
                (call $start_rewind (i32.const 16))
                (call $main)
                (call $print (i32.add (i32.const 200) (call $get_state)))))
            """;

    @Test
    void getStateImportWorks() {
        byte[] original = Guest.named(GET_STATE);
        byte[] transformed = Asyncify.transform(original, AsyncifyOptions.builder().pureWasm(true).build());
        assertThat(printed(transformed)).containsExactly(1L, 101L, 2L, 3L, 200L);
        assertThat(importsRuntime(transformed)).isFalse();
    }

    @Test
    void runtimeLogicInlinedIntoMainIsWarnedAbout() throws IOException {
        // Binaryen #4681: with the sleep logic inlined, main calls start_unwind/stop_rewind itself, so it
        // is a runtime function, never instrumented, and cannot pause: the program prints 1 3 2 1 3.
        String inlined = seedText().replace("(call $sleep)", """
                (if (i32.eqz (global.get $sleeping))
                  (then
                    (global.set $sleeping (i32.const 1))
                    (i32.store (i32.const 16) (i32.const 24))
                    (i32.store (i32.const 20) (i32.const 1024))
                    (call $asyncify_start_unwind (i32.const 16)))
                  (else
                    (call $asyncify_stop_rewind)
                    (global.set $sleeping (i32.const 0))))
                """);
        assertThat(inlined).as("the seed example still has the expected shape").isNotEqualTo(seedText());
        ModuleModel m = WasmCodec.decode(Guest.named(inlined));
        AsyncifyReport report = Asyncify.transform(m, AsyncifyOptions.builder().pureWasm(true).build());
        assertThat(report.warnings()).singleElement().satisfies(w -> assertThat(w)
                .contains("runtime function $main calls $print").contains("#4681"));
        assertThat(OptionsTest.instrumented(report)).doesNotContain("$main");
        assertThat(printed(WasmCodec.encode(m))).containsExactly(1L, 3L, 2L, 1L, 3L);
    }
}
