package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;

import com.dylibso.chicory.wabt.Wat2Wasm;
import io.asyncify4j.asyncify.Asyncify;
import io.asyncify4j.asyncify.AsyncifyOptions;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.ModuleModel;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Finding the C shadow-stack pointer from the code (plugins/plugin.c built 8 ways, see plugins/build.sh). */
class ShadowStackTest {
    static final List<String> VARIANTS = List.of(
            "plugin-O0", "plugin-O0-stripped", "plugin-O0-export", "plugin-O0-export-stripped",
            "plugin-O2", "plugin-O2-stripped", "plugin-O2-export", "plugin-O2-export-stripped");

    static byte[] plugin(String variant) {
        try (InputStream in = ShadowStackTest.class.getResourceAsStream("/plugins/" + variant + ".wasm")) {
            assertThat(in).as(variant).isNotNull();
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ModuleModel wat(String text) {
        return WasmCodec.decode(Wat2Wasm.parse(text));
    }

    /** The options AsyncInstance transforms a module with (one async import), with or without fuel. */
    private static ModuleModel asyncified(byte[] wasm, boolean fuel) {
        ModuleModel m = WasmCodec.decode(wasm);
        Asyncify.transform(m, AsyncifyOptions.builder()
                .unwindingImports(List.of("env.fetch"))
                .dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY)
                .secondaryMemoryPages(1, 1)
                .importState(true)
                .deferStart(true)
                .v128ViaHost(true)
                .fuel(fuel)
                .build());
        return m;
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "plugin-O0", "plugin-O0-stripped", "plugin-O0-export", "plugin-O0-export-stripped",
            "plugin-O2", "plugin-O2-stripped", "plugin-O2-export", "plugin-O2-export-stripped"})
    void findsTheStackPointerOfEveryPluginVariantFromItsCode(String variant) {
        ModuleModel m = WasmCodec.decode(plugin(variant));
        ShadowStack.Evidence e = ShadowStack.analyse(m).orElseThrow();
        assertThat(e.global()).isZero(); // wasm-ld's __stack_pointer
        assertThat(e.fromCode()).as("found from the code").isTrue();
        // handle, printf, vfprintf and friends keep frames; some of their accesses go through the frame
        assertThat(e.frameFunctions()).isGreaterThanOrEqualTo(3);
        assertThat(e.frameAccesses()).isGreaterThanOrEqualTo(e.frameFunctions());
        boolean stripped = variant.endsWith("stripped");
        boolean exported = variant.contains("export");
        assertThat(m.names() == null).isEqualTo(stripped);
        assertThat(e.named()).isEqualTo(exported || !stripped);
        assertThat(ShadowStack.stackPointerGlobal(m)).isEqualTo(OptionalInt.of(0));
        assertThat(ShadowStack.detect(m)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"plugin-O0-stripped", "plugin-O2-stripped", "plugin-O2-export"})
    void findsItInTheAsyncifiedModuleAtItsShiftedIndex(String variant) {
        ModuleModel original = WasmCodec.decode(plugin(variant));
        for (boolean fuel : new boolean[] {false, true}) {
            ModuleModel m = asyncified(plugin(variant), fuel);
            // the transform imports its state (and fuel) globals, ahead of the defined __stack_pointer
            int shift = m.importCount(ExternalKind.GLOBAL) - original.importCount(ExternalKind.GLOBAL);
            assertThat(shift).isPositive();
            ShadowStack.Evidence e = ShadowStack.analyse(m).orElseThrow();
            assertThat(e.global()).as("fuel " + fuel).isEqualTo(shift);
            assertThat(e.fromCode()).isTrue();
            assertThat(m.globalType(e.global()).mutable()).isTrue();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"fannkuch", "nbody", "sort_hash"})
    void findsItInTheCWorkloads(String workload) throws IOException {
        ModuleModel m = WasmCodec.decode(Files.readAllBytes(Path.of("../workloads/" + workload + ".wasm")));
        ShadowStack.Evidence e = ShadowStack.analyse(m).orElseThrow();
        assertThat(e.global()).isZero();
        assertThat(e.fromCode()).isTrue();
    }

    /** The -O2 prologue and epilogue, by hand, on an imported stack pointer that is not global 0. */
    @Test
    void findsAnUnnamedImportedStackPointerBesideACounter() {
        ModuleModel m = wat("""
                (module
                  (import "env" "fetch" (func $fetch (param i32) (result i32)))
                  (import "env" "counter" (global (mut i32)))
                  (import "env" "sp" (global (mut i32)))
                  (memory 1)
                  (func (export "f") (param i32) (result i32) (local i32 i32)
                    (global.set 0 (i32.add (global.get 0) (i32.const 1)))
                    (local.tee 1 (i32.sub (global.get 1) (i32.const 32)))
                    global.set 1
                    (i32.store offset=12 (local.get 1) (local.get 0))
                    (local.set 2 (call $fetch (i32.load offset=12 (local.get 1))))
                    (global.set 1 (i32.add (local.get 1) (i32.const 32)))
                    (local.get 2)))
                """);
        assertThat(m.names() == null || m.names().globalNames().isEmpty()).isTrue();
        assertThat(ShadowStack.stackPointerGlobal(m)).isEqualTo(OptionalInt.of(1));
    }

    /** clang -O0's shape: every step through a local; the restore from the value saved at entry. */
    @Test
    void findsAStackPointerHandledThroughLocalsAndRestoredFromTheSavedValue() {
        ModuleModel m = wat("""
                (module
                  (memory 1)
                  (global (mut i32) (i32.const 0))
                  (global (mut i32) (i32.const 65536))
                  (func (export "f") (param i32) (local i32 i32 i32 i32)
                    global.get 1
                    local.set 1
                    local.get 0
                    local.set 2
                    local.get 1
                    local.get 2
                    i32.sub
                    i32.const -16
                    i32.and
                    local.set 3
                    local.get 3
                    global.set 1
                    block
                      local.get 3
                      i32.const 7
                      i32.store8 offset=3
                    end
                    local.get 1
                    global.set 1))
                """);
        assertThat(ShadowStack.stackPointerGlobal(m)).isEqualTo(OptionalInt.of(1));
    }

    static final String COUNTER = """
            (module
              (global $count (mut i32) (i32.const 0))
              (memory 1)
              (func (export "next") (result i32)
                (global.set $count (i32.add (global.get $count) (i32.const 1)))
                (i32.store (i32.const 0) (global.get $count))
                (global.get $count)))
            """;

    static final String DEPTH = """
            (module
              (import "env" "fetch" (func $fetch (param i32) (result i32)))
              (global $budget (mut i32) (i32.const 100))
              (memory 1)
              (func $walk (export "walk") (param i32) (result i32) (local i32)
                ;; budget -= 1 ... budget += 1 around a call, and a store at the budget's address
                (local.tee 1 (i32.sub (global.get $budget) (i32.const 1)))
                global.set $budget
                (i32.store (global.get $budget) (local.get 0))
                (local.set 0 (call $fetch (local.get 0)))
                (global.set $budget (i32.add (global.get $budget) (i32.const 1)))
                (local.get 0)))
            """;

    /** A bump allocator growing down that never gives memory back. */
    static final String DOWNWARD_HEAP = """
            (module
              (global $top (mut i32) (i32.const 65536))
              (memory 1)
              (func (export "alloc") (param i32) (result i32) (local i32)
                (local.tee 1 (i32.sub (global.get $top) (local.get 0)))
                global.set $top
                (i32.store (local.get 1) (local.get 0))
                (local.get 1)))
            """;

    /** Saves and restores a global around a call, without addressing memory through it. */
    static final String SAVED_FLAG = """
            (module
              (import "env" "fetch" (func $fetch (param i32) (result i32)))
              (global $level (mut i32) (i32.const 10))
              (func (export "f") (param i32) (result i32) (local i32)
                (local.tee 1 (i32.sub (global.get $level) (i32.const 1)))
                global.set $level
                (local.set 0 (call $fetch (local.get 0)))
                (global.set $level (i32.add (local.get 1) (i32.const 1)))
                (local.get 0)))
            """;

    /** The -O2 shadow-stack code, on an immutable global and on an i64 global: not a stack pointer. */
    static final String NOT_MUTABLE_I32 = """
            (module
              (global i32 (i32.const 65536))
              (global $g (mut i64) (i64.const 65536))
              (memory 1)
              (func (export "f") (local i32 i64)
                (local.set 0 (i32.sub (global.get 0) (i32.const 16)))
                (i32.store (local.get 0) (i32.const 1))
                (global.set $g (i64.sub (global.get $g) (i64.const 16)))
                (global.set $g (i64.add (global.get $g) (i64.const 16)))))
            """;

    @ParameterizedTest
    @ValueSource(strings = {"COUNTER", "DEPTH", "DOWNWARD_HEAP", "SAVED_FLAG", "NOT_MUTABLE_I32"})
    void noStackPointerInModulesWithoutAShadowStack(String name) throws Exception {
        String text = (String) ShadowStackTest.class.getDeclaredField(name).get(null);
        ModuleModel m = wat(text);
        assertThat(ShadowStack.analyse(m)).as(name).isEmpty();
        assertThat(ShadowStack.analyse(asyncified(Wat2Wasm.parse(text), true))).as(name + " asyncified").isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "../samples/src/main/resources/io/asyncify4j/samples/generator.wat",
            "../samples/src/main/resources/io/asyncify4j/samples/pure-wasm-sleep.wat",
            "../samples/src/main/resources/io/asyncify4j/samples/sleep.wat",
            "src/test/resources/io/asyncify4j/host/binaryen-input.wat"})
    void noStackPointerInTheSamplesAndTestModules(String file) {
        byte[] wasm = Wat2Wasm.parse(Path.of(file).toFile());
        assertThat(ShadowStack.analyse(WasmCodec.decode(wasm))).as(file).isEmpty();
    }

    /** Binaryen's asyncify output keeps its data pointer in a mutable i32 global and loads through it. */
    @Test
    void noStackPointerInABinaryenAsyncifiedModule() throws IOException {
        try (InputStream in = getClass().getResourceAsStream("/io/asyncify4j/host/binaryen-asyncified.wasm")) {
            assertThat(ShadowStack.analyse(WasmCodec.decode(in.readAllBytes()))).isEmpty();
        }
    }

    /** The name is supporting evidence: alone, on a mutable i32 global, it still counts. */
    @Test
    void anExportedStackPointerWithoutCodeIsTakenAtItsName() {
        ModuleModel m = wat("""
                (module
                  (global (mut i32) (i32.const 1))
                  (global (export "__stack_pointer") (mut i32) (i32.const 65536)))
                """);
        ShadowStack.Evidence e = ShadowStack.analyse(m).orElseThrow();
        assertThat(e.global()).isEqualTo(1);
        assertThat(e.fromCode()).isFalse();
        assertThat(e.named()).isTrue();
        // ... but not on an immutable one
        assertThat(ShadowStack.analyse(wat("(module (global (export \"__stack_pointer\") i32 (i32.const 1)))"))).isEmpty();
    }

    @Test
    void aStackPointerNamedOnlyInTheNameSectionCounts() {
        ModuleModel m = wat("(module (global (mut i32) (i32.const 0)) (global (mut i32) (i32.const 1)))");
        assertThat(ShadowStack.analyse(m)).isEmpty();
        if (m.names() == null) {
            m.setNames(new io.asyncify4j.wasm.model.NameSection());
        }
        m.names().globalNames().put(1, ShadowStack.NAME);
        ModuleModel decoded = WasmCodec.decode(WasmCodec.encode(m));
        assertThat(ShadowStack.stackPointerGlobal(decoded)).isEqualTo(OptionalInt.of(1));
    }

    /** Two globals used as stacks: the one named __stack_pointer is the stack pointer. */
    @Test
    void theNameDecidesBetweenTwoStacks() {
        String two = """
                (module
                  (memory 1)
                  (global $a (mut i32) (i32.const 32768))
                  (global $__stack_pointer (export "%s") (mut i32) (i32.const 65536))
                  (func (export "f") (local i32)
                    (local.tee 0 (i32.sub (global.get 0) (i32.const 16)))
                    global.set 0
                    (i32.store (local.get 0) (i32.const 1))
                    (global.set 0 (i32.add (local.get 0) (i32.const 16)))
                    (local.tee 0 (i32.sub (global.get 1) (i32.const 16)))
                    global.set 1
                    (i32.store (local.get 0) (i32.const 1))
                    (global.set 1 (i32.add (local.get 0) (i32.const 16)))))
                """;
        assertThat(ShadowStack.stackPointerGlobal(wat(two.formatted("sp")))).isEqualTo(OptionalInt.of(0));
        assertThat(ShadowStack.stackPointerGlobal(wat(two.formatted(ShadowStack.NAME)))).isEqualTo(OptionalInt.of(1));
    }

    /** An invalid module (indices out of range) is analysed as far as it makes sense, without failing. */
    @Test
    void indicesOutOfRangeEndTheScanOfABodyQuietly() {
        ModuleModel valid = wat("""
                (module
                  (memory 1)
                  (global (mut i32) (i32.const 65536))
                  (func (export "f") (local i32)
                    (local.tee 0 (i32.sub (global.get 0) (i32.const 16)))
                    global.set 0
                    (i32.store (local.get 0) (i32.const 1))
                    (global.set 0 (i32.add (local.get 0) (i32.const 16)))))
                """);
        assertThat(ShadowStack.stackPointerGlobal(valid)).isEqualTo(OptionalInt.of(0));
        for (io.asyncify4j.wasm.ir.Instruction bad : List.of(
                io.asyncify4j.wasm.ir.SimpleInstruction.of(io.asyncify4j.wasm.ir.Opcode.CALL, 99),
                io.asyncify4j.wasm.ir.SimpleInstruction.of(io.asyncify4j.wasm.ir.Opcode.CALL_INDIRECT, 99, 0),
                io.asyncify4j.wasm.ir.BlockInstruction.block(io.asyncify4j.wasm.ir.BlockType.ofTypeIndex(99), List.of()))) {
            ModuleModel m = wat("""
                    (module
                      (memory 1)
                      (global (mut i32) (i32.const 65536))
                      (func (export "f") (local i32)
                        (local.tee 0 (i32.sub (global.get 0) (i32.const 16)))
                        global.set 0
                        (i32.store (local.get 0) (i32.const 1))
                        (global.set 0 (i32.add (local.get 0) (i32.const 16)))))
                    """);
            m.functions().get(0).body().add(0, bad); // before the prologue: the rest of the body is not scanned
            assertThat(ShadowStack.analyse(m)).as(bad.toString()).isEmpty();
            m.functions().get(0).body().remove(0);
            m.functions().get(0).body().add(bad); // after the epilogue
            assertThat(ShadowStack.stackPointerGlobal(m)).as(bad.toString()).isEqualTo(OptionalInt.of(0));
        }
    }
}
