package io.asyncify4j.asyncify;

import static io.asyncify4j.asyncify.Guest.args;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import run.endive.runtime.TrapException;
import io.asyncify4j.engine.SuspendPolicy;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.testutil.Wat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The transform's options (Binaryen's asyncify-* pass arguments) and what the report says they did. */
// A mis-transformed loop can spin forever instead of failing: bound every test.
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class OptionsTest {
    static final String MODULE = """
            (module
              (import "env" "sleep" (func $sleep (param i32)))
              (import "env" "log" (func $log (param i32)))
              (import "wasi" "read" (func $read (result i32)))
              (type $t (func (param i32) (result i32)))
              (memory 1)
              (table 2 funcref)
              (elem (i32.const 0) $ind_a $ind_b)
              (func $a (call $sleep (i32.const 1)))
              (func $b (call $log (i32.const 2)))
              (func $c (drop (call $read)))
              (func $d (call $a))
              (func $e (call $b) (call $c))
              (func $pure (result i32) (i32.const 3))
              (func $calls_pure (result i32) (call $pure))
              (func $ind_a (type $t) (call $sleep (local.get 0)) (local.get 0))
              (func $ind_b (type $t) (local.get 0))
              (func $indirect_caller (param i32) (result i32)
                (call_indirect (type $t) (local.get 0) (local.get 0)))
              (func $main (export "main") (result i32)
                (call $d) (call $e)
                (i32.add (call $calls_pure) (call $indirect_caller (i32.const 0)))))
            """;

    private static final Set<String> ALL_REACHING = Set.of("$a", "$b", "$c", "$d", "$e", "$ind_a",
            "$indirect_caller", "$main");

    static byte[] wasm() {
        return Guest.named(MODULE);
    }

    static AsyncifyReport report(AsyncifyOptions options) {
        return report(wasm(), options);
    }

    static AsyncifyReport report(byte[] wasm, AsyncifyOptions options) {
        ModuleModel m = WasmCodec.decode(wasm);
        return Asyncify.transform(m, options);
    }

    static Set<String> instrumented(AsyncifyReport r) {
        return r.instrumented().stream().map(AsyncifyReport.InstrumentedFunction::name)
                .collect(Collectors.toCollection(TreeSet::new));
    }

    static AsyncifyOptions.Builder opts() {
        return AsyncifyOptions.builder();
    }

    /** Function index of a named function in {@link #MODULE}. */
    static int index(String name) {
        ModuleModel m = WasmCodec.decode(wasm());
        return m.names().functionNames().entrySet().stream().filter(e -> e.getValue().equals(name))
                .findFirst().orElseThrow().getKey();
    }

    @Test
    void defaultsInstrumentEverythingThatReachesAnyImport() {
        AsyncifyReport r = report(AsyncifyOptions.defaults());
        assertThat(instrumented(r)).isEqualTo(ALL_REACHING);
        assertThat(r.describe()).contains("$d (1 call sites): $d: calls $a -> $a: calls $sleep -> $sleep: "
                + "import env.sleep may unwind");
        assertThat(r.instrumented()).filteredOn(f -> f.name().equals("$indirect_caller"))
                .singleElement().satisfies(f -> assertThat(f.reason()).contains("indirect call"));
    }

    @Test
    void unwindingImportsByNameAndGlob() {
        assertThat(instrumented(report(opts().unwindingImports(List.of("env.sleep")).build())))
                .containsExactlyInAnyOrder("$a", "$d", "$ind_a", "$indirect_caller", "$main");
        assertThat(instrumented(report(opts().unwindingImports(List.of("env.*")).build())))
                .containsExactlyInAnyOrder("$a", "$b", "$d", "$e", "$ind_a", "$indirect_caller", "$main");
        assertThat(instrumented(report(opts().unwindingImports(List.of("*.read")).build())))
                .containsExactlyInAnyOrder("$c", "$e", "$main");
        assertThat(instrumented(report(opts().unwindingImports(List.of("env.l*g", "wasi.nothing")).build())))
                .containsExactlyInAnyOrder("$b", "$e", "$main");
        // A pattern matches the whole module.name, not a part of it.
        assertThat(instrumented(report(opts().unwindingImports(List.of("sleep")).build()))).isEmpty();
        assertThat(instrumented(report(opts().unwindingImports(List.of()).build()))).isEmpty();
    }

    @Test
    void unwindingImportsFromAFile(@TempDir Path dir) throws Exception {
        Path list = dir.resolve("imports.txt");
        Files.writeString(list, "env.sleep\n\nwasi.*, env.nothing\n");
        assertThat(instrumented(report(opts().unwindingImports(List.of("@" + list)).build())))
                .containsExactlyInAnyOrder("$a", "$c", "$d", "$e", "$ind_a", "$indirect_caller", "$main");
        assertThatThrownBy(() -> opts().unwindingImports(List.of("@" + dir.resolve("missing.txt"))).build())
                .isInstanceOf(AsyncifyException.class).hasMessageContaining("cannot read list file")
                .hasMessageContaining("missing.txt");
    }

    @Test
    void ignoreImportsAndIgnoreIndirect() {
        assertThat(instrumented(report(opts().ignoreImports(true).build()))).isEmpty();
        assertThat(instrumented(report(opts().ignoreIndirect(true).build())))
                .containsExactlyInAnyOrder("$a", "$b", "$c", "$d", "$e", "$ind_a", "$main");
        // ignore-imports with a forced function: only that function (and its indirect calls) counts.
        assertThat(instrumented(report(opts().ignoreImports(true).addList(List.of("$indirect_caller")).build())))
                .containsExactly("$indirect_caller");
    }

    @Test
    void removeListByNameAndIndex() {
        assertThat(instrumented(report(opts().removeList(List.of("$d")).build())))
                .isEqualTo(without(ALL_REACHING, "$d"));
        assertThat(instrumented(report(opts().removeList(List.of("d", "e")).build())))
                .isEqualTo(without(ALL_REACHING, "$d", "$e"));
        assertThat(instrumented(report(opts().removeList(List.of(String.valueOf(index("a")))).build())))
                .as("removing $a stops the propagation to $d too")
                .isEqualTo(without(ALL_REACHING, "$a", "$d"));
        assertThat(instrumented(report(opts().removeList(List.of("ind_*")).build())))
                .as("glob over names; $ind_a removed leaves no unwinding function of type $t")
                .isEqualTo(without(ALL_REACHING, "$ind_a", "$indirect_caller"));
    }

    @Test
    void addListWithAndWithoutPropagation() {
        assertThat(instrumented(report(opts().addList(List.of("$pure")).build())))
                .isEqualTo(with(ALL_REACHING, "$pure"));
        assertThat(instrumented(report(opts().addList(List.of("pure")).propagateAddList(true).build())))
                .isEqualTo(with(ALL_REACHING, "$pure", "$calls_pure"));
        assertThat(instrumented(report(opts().unwindingImports(List.of()).addList(List.of(String.valueOf(index("pure"))))
                .propagateAddList(true).build())))
                .containsExactlyInAnyOrder("$pure", "$calls_pure", "$main");
        AsyncifyReport r = report(opts().addList(List.of("$pure")).build());
        assertThat(r.instrumented()).filteredOn(f -> f.name().equals("$pure")).singleElement()
                .satisfies(f -> assertThat(f.reason()).contains("add-list"));
    }

    @Test
    void onlyListByNameAndIndex() {
        assertThat(instrumented(report(opts().onlyList(List.of("$a", "13")).build())))
                .containsExactlyInAnyOrder("$a", "$main");
        assertThat(instrumented(report(opts().onlyList(List.of("pure")).build()))).containsExactly("$pure");
        assertThat(instrumented(report(opts().onlyList(List.of()).build()))).isEmpty();
    }

    @Test
    void unknownNamesAreErrorsNamingTheListAndTheName() {
        assertThatThrownBy(() -> report(opts().removeList(List.of("$nope")).build()))
                .isInstanceOf(AsyncifyException.class).hasMessageContaining("remove-list")
                .hasMessageContaining("'$nope'");
        assertThatThrownBy(() -> report(opts().addList(List.of("nothing_*")).build()))
                .isInstanceOf(AsyncifyException.class).hasMessageContaining("add-list")
                .hasMessageContaining("nothing_*");
        assertThatThrownBy(() -> report(opts().onlyList(List.of("999")).build()))
                .isInstanceOf(AsyncifyException.class).hasMessageContaining("only-list")
                .hasMessageContaining("999").hasMessageContaining("functions");
    }

    @Test
    void conflictingOptionsAreErrors() {
        assertThatThrownBy(() -> opts().onlyList(List.of("$a")).removeList(List.of("$b")).build())
                .isInstanceOf(AsyncifyException.class).hasMessageContaining("conflicting")
                .hasMessageContaining("only-list").hasMessageContaining("remove-list");
        assertThatThrownBy(() -> opts().onlyList(List.of("$a")).addList(List.of("$b")).build())
                .isInstanceOf(AsyncifyException.class).hasMessageContaining("conflicting")
                .hasMessageContaining("add-list");
        assertThatThrownBy(() -> opts().v128ViaHost(true).build())
                .isInstanceOf(AsyncifyException.class).hasMessageContaining("conflicting")
                .hasMessageContaining("secondary");
        assertThatThrownBy(() -> opts().dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY)
                .secondaryMemoryPages(4, 2).build())
                .isInstanceOf(AsyncifyException.class).hasMessageContaining("maximum (2 pages)")
                .hasMessageContaining("initial size (4 pages)");
    }

    @Test
    void moduleMemoryDataNeedsAMemory() {
        byte[] noMemory = Wat.wat("""
                (module (import "env" "io" (func $io)) (func (export "f") (call $io)))
                """);
        assertThatThrownBy(() -> Asyncify.transform(noMemory, AsyncifyOptions.defaults()))
                .isInstanceOf(AsyncifyException.class).hasMessageContaining("no memory")
                .hasMessageContaining("secondary memory");
    }

    @Test
    void badRuntimeImportsAreErrors() {
        byte[] unknown = Wat.wat("""
                (module (import "asyncify" "pause" (func)) (memory 1))
                """);
        assertThatThrownBy(() -> Asyncify.transform(unknown, AsyncifyOptions.builder().pureWasm(true).build()))
                .isInstanceOf(AsyncifyException.class).hasMessageContaining("asyncify.pause")
                .hasMessageContaining("start_unwind");
        byte[] badType = Wat.wat("""
                (module (import "asyncify" "start_unwind" (func (param i64))) (memory 1))
                """);
        assertThatThrownBy(() -> Asyncify.transform(badType, AsyncifyOptions.builder().pureWasm(true).build()))
                .isInstanceOf(AsyncifyException.class).hasMessageContaining("asyncify.start_unwind")
                .hasMessageContaining("expected");
    }

    @Test
    void theRuntimesNamespacesAreReserved() {
        byte[] fuel = Wat.wat("""
                (module (import "asyncify4j" "fuel" (global (mut i64))) (memory 1)
                  (func (export "refill") (global.set 0 (i64.const 0x7fffffffffffffff))))
                """);
        assertThatThrownBy(() -> Asyncify.transform(fuel, AsyncifyOptions.builder().fuel(true).build()))
                .isInstanceOf(ReservedImportException.class).hasMessageContaining("asyncify4j.fuel");
        byte[] state = Wat.wat("""
                (module (import "asyncify4j" "state" (global (mut i32))) (memory 1))
                """);
        assertThatThrownBy(() -> Asyncify.transform(state, AsyncifyOptions.builder().pureWasm(true).build()))
                .isInstanceOf(ReservedImportException.class).hasMessageContaining("asyncify4j.state");
        byte[] runtime = Wat.wat("""
                (module (import "asyncify" "start_unwind" (func (param i32))) (memory 1))
                """);
        assertThatThrownBy(() -> Asyncify.transform(runtime, AsyncifyOptions.defaults()))
                .isInstanceOf(ReservedImportException.class).hasMessageContaining("asyncify.start_unwind")
                .hasMessageContaining("pureWasm");
        assertThat(Asyncify.transform(runtime, AsyncifyOptions.builder().pureWasm(true).build())).isNotEmpty();
    }

    // ------------------------------------------------------------------ asserts

    private static final String ASSERTS = """
            (module
              (import "env" "io" (func $io (param i32) (result i32)))
              (memory 1)
              (func $leaf (param i32) (result i32) (call $io (local.get 0)))
              (func $middle (param i32) (result i32) (i32.add (call $leaf (local.get 0)) (i32.const 1)))
              (func (export "run") (param i32) (result i32) (call $middle (local.get 0))))
            """;

    @Test
    void assertsTrapInAnUninstrumentedFunctionWhoseCalleeUnwindsAndNameIt() {
        AsyncifyOptions options = Guest.driverOptions().removeList(List.of("$middle")).asserts(true).build();
        byte[] transformed = Asyncify.transform(Guest.named(ASSERTS), options);
        int middle = index(transformed, "middle");
        Guest.Driven d = new Guest.Driven(transformed, SuspendPolicy.always(), new Guest.Host());
        Guest.Run run = d.call("run", 5);
        assertThat(run.outcome().failure()).startsWith(TrapException.class.getName());
        assertThat(d.globalI32(AsyncifyAbi.FAULT_KIND_GLOBAL)).isEqualTo(AsyncifyAbi.FAULT_ASSERT);
        assertThat(d.globalI32(AsyncifyAbi.FAULT_FUNCTION_GLOBAL)).isEqualTo(middle);
        // Without a suspension nothing faults.
        Guest.Driven calm = new Guest.Driven(transformed, SuspendPolicy.never(), new Guest.Host());
        assertThat(calm.call("run", 5).outcome().failure()).isNull();
        assertThat(calm.globalI32(AsyncifyAbi.FAULT_KIND_GLOBAL)).isZero();
        assertThat(calm.globalI32(AsyncifyAbi.FAULT_FUNCTION_GLOBAL)).isEqualTo(-1);
    }

    @Test
    void assertsThroughTheBinaryenAbiWithTheDataInModuleMemory() {
        byte[] transformed = Asyncify.transform(Guest.named(ASSERTS),
                AsyncifyOptions.builder().removeList(List.of("middle")).asserts(true).build());
        AbiDriver d = new AbiDriver(1024, 4096, SuspendPolicy.always()).instantiate(transformed);
        assertThat(d.call("run", 1).outcome().failure()).startsWith(TrapException.class.getName());
        assertThat(d.globalI32(AsyncifyAbi.FAULT_KIND_GLOBAL)).isEqualTo(AsyncifyAbi.FAULT_ASSERT);
        assertThat(d.globalI32(AsyncifyAbi.FAULT_FUNCTION_GLOBAL)).isEqualTo(index(transformed, "middle"));
    }

    @Test
    void globalNamesFollowTheirGlobalsWhenImportedGlobalsAreAdded() {
        // Regression: the fuel and state imports shift defined globals up by two; the name section kept
        // the old indices, so tools showed the fuel global as the module's first global.
        ModuleModel m = WasmCodec.decode(Wat.wat("(module (global $counter (mut i32) (i32.const 0))"
                + " (func (export \"run\") (loop (br_if 0 (global.get $counter)))))"));
        io.asyncify4j.wasm.model.NameSection names = new io.asyncify4j.wasm.model.NameSection();
        names.setAfterSection(11);
        names.globalNames().put(0, "counter");
        m.setNames(names);
        Asyncify.transform(m, AsyncifyOptions.builder().dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY)
                .importState(true).fuel(true).build());
        ModuleModel back = WasmCodec.decode(WasmCodec.encode(m));
        Map<Integer, String> globals = back.names().globalNames();
        assertThat(globals).containsEntry(0, "asyncify4j.fuel").containsEntry(1, "asyncify4j.state")
                .containsEntry(2, "counter");
        assertThat(back.imports()).filteredOn(i -> i.kind() == io.asyncify4j.wasm.model.ExternalKind.GLOBAL)
                .extracting(i -> i.module() + "." + i.name()).containsExactly("asyncify4j.fuel", "asyncify4j.state");
    }

    static int index(byte[] wasm, String name) {
        Map<Integer, String> names = WasmCodec.decode(wasm).names().functionNames();
        return names.entrySet().stream().filter(e -> e.getValue().equals(name)).findFirst().orElseThrow().getKey();
    }

    private static Set<String> without(Set<String> s, String... remove) {
        Set<String> out = new TreeSet<>(s);
        for (String r : remove) {
            assertThat(out.remove(r)).as("%s was in the set", r).isTrue();
        }
        return out;
    }

    private static Set<String> with(Set<String> s, String... add) {
        Set<String> out = new TreeSet<>(s);
        out.addAll(List.of(add));
        return out;
    }

    @Test
    void sanity() {
        assertThat(index("indirect_caller")).isEqualTo(12);
        assertThat(Guest.plain(wasm(), "main", args()).get(0).outcome().failure()).isNull();
    }
}
