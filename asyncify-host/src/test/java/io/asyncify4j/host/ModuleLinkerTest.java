package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import run.endive.runtime.GlobalInstance;
import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportGlobal;
import run.endive.runtime.ImportValues;
import run.endive.runtime.InterpreterMachine;
import run.endive.wasi.WasiOptions;
import run.endive.wasm.UnlinkableException;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.MutabilityType;
import run.endive.wasm.types.ValType;

/** The module / linker / instance split: what is fixed once per module, once per link, and per instance. */
class ModuleLinkerTest {
    private static final String COUNTER = """
            (module
              (import "env" "fetch" (func $fetch (param i32) (result i32)))
              (import "env" "log" (func $log (param i32)))
              (import "env" "base" (global $base i32))
              (memory (export "memory") 1)
              (func (export "bump") (param $x i32) (result i32)
                (call $log (local.get $x))
                (i32.store (i32.const 0)
                  (i32.add (i32.load (i32.const 0)) (call $fetch (local.get $x))))
                (i32.add (global.get $base) (i32.load (i32.const 0)))))
            """;

    private static AsyncImport fetch() {
        return AsyncImport.ofIntToInt("env", "fetch", x -> CompletableFuture.supplyAsync(() -> x,
                CompletableFuture.delayedExecutor(1, TimeUnit.MILLISECONDS)));
    }

    private static HostFunction log(AtomicInteger calls) {
        return new HostFunction("env", "log", FunctionType.of(List.of(ValType.I32), List.of()), (inst, args) -> {
            calls.incrementAndGet();
            return null;
        });
    }

    private static ImportGlobal base(int value) {
        return new ImportGlobal("env", "base", new GlobalInstance(value, 0, ValType.I32, MutabilityType.Const));
    }

    private static Linker linker(AtomicInteger logCalls) {
        return Linker.builder().withAsyncImport(fetch()).withHostFunction(log(logCalls)).withGlobal(base(1000)).build();
    }

    @ParameterizedTest
    @MethodSource("io.asyncify4j.host.TestEngines#available")
    void oneModuleManyInstancesEachWithItsOwnState(Engine engine) throws Exception {
        AsyncModule module = AsyncModule.builderFromWat(COUNTER).withAsyncImports("env.fetch").withEngine(engine).build();
        assertThat(module.exports()).containsExactly("bump");
        assertThat(module.imports()).containsKeys("env.fetch", "env.log", "env.base");
        assertThat(module.asyncImports()).containsExactly("env.fetch");
        AtomicInteger logs = new AtomicInteger();
        InstancePre pre = linker(logs).instantiatePre(module);
        try (AsyncInstance a = pre.instantiate(); AsyncInstance b = pre.instantiate()) {
            assertThat(a.callBlocking("bump", 5)).containsExactly(1005);
            assertThat(a.callBlocking("bump", 7)).containsExactly(1012);
            assertThat(b.callBlocking("bump", 2)).containsExactly(1002); // its own memory
            assertThat(a.metrics().suspensions()).isEqualTo(2);
            assertThat(a.instance().module()).isSameAs(b.instance().module()); // parsed once
        }
        assertThat(logs.get()).isEqualTo(3); // host functions are the linker's, shared
    }

    @Test
    void instancesAreCreatedConcurrentlyFromOneLinkedModule() throws Exception {
        InstancePre pre = linker(new AtomicInteger())
                .instantiatePre(AsyncModule.builderFromWat(COUNTER).withAsyncImports("env.fetch").build());
        ExecutorService threads = Executors.newFixedThreadPool(4);
        try {
            List<Future<Long>> results = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                int x = i;
                results.add(threads.submit(() -> {
                    try (AsyncInstance guest = pre.instantiate()) {
                        return guest.callBlocking("bump", x)[0];
                    }
                }));
            }
            for (int i = 0; i < results.size(); i++) {
                assertThat(results.get(i).get(30, TimeUnit.SECONDS)).isEqualTo(1000 + i);
            }
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    void instanceSettingsAreTakenPerInstanceAndModuleSettingsRefused() {
        InstancePre pre = linker(new AtomicInteger())
                .instantiatePre(AsyncModule.builderFromWat(COUNTER).withAsyncImports("env.fetch").build());
        try (AsyncInstance guest = pre.builder().withFuelBudget(1_000_000).withDeadline(java.time.Duration.ofSeconds(30))
                .build()) {
            assertThat(guest.callBlocking("bump", 1)).containsExactly(1001);
        }
        assertThatThrownBy(() -> pre.builder().withMaxMemoryPages(1)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("withMaxMemoryPages").hasMessageContaining("AsyncModule.builder");
        assertThatThrownBy(() -> pre.builder().withEngine(Engine.COMPILER)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("AsyncModule.builder");
        assertThatThrownBy(() -> pre.builder().withAsyncImport(fetch())).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("withAsyncImport").hasMessageContaining("Linker.builder");
        assertThatThrownBy(() -> pre.builder().withWasi(WasiOptions.builder().build()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("Linker.builder");
    }

    @Test
    void linkErrorsNameTheImportAndAreFoundBeforeAnyInstance() {
        AsyncModule module = AsyncModule.builderFromWat(COUNTER).withAsyncImports("env.fetch").build();
        AtomicInteger logs = new AtomicInteger();
        // nothing for a function
        assertThatThrownBy(() -> Linker.builder().withAsyncImport(fetch()).withGlobal(base(0)).build()
                .instantiatePre(module)).isInstanceOf(UnlinkableException.class)
                .hasMessageContaining("unknown import env.log");
        // nothing for a global
        assertThatThrownBy(() -> Linker.builder().withAsyncImport(fetch()).withHostFunction(log(logs)).build()
                .instantiatePre(module)).isInstanceOf(UnlinkableException.class)
                .hasMessageContaining("unknown import env.base (global)");
        // a function of another type
        HostFunction wrongLog = new HostFunction("env", "log", FunctionType.of(List.of(ValType.I64), List.of()),
                (inst, args) -> null);
        assertThatThrownBy(() -> Linker.builder().withAsyncImport(fetch()).withHostFunction(wrongLog)
                .withGlobal(base(0)).build().instantiatePre(module)).isInstanceOf(UnlinkableException.class)
                .hasMessageContaining("incompatible import type for env.log");
        // an async import of another type
        AsyncImport wrongFetch = AsyncImport.ofLongToLong("env", "fetch", x -> CompletableFuture.completedFuture(x));
        assertThatThrownBy(() -> Linker.builder().withAsyncImport(wrongFetch).withHostFunction(log(logs))
                .withGlobal(base(0)).build().instantiatePre(module)).isInstanceOf(UnlinkableException.class)
                .hasMessageContaining("incompatible import type for env.fetch");
        // declared async, linked to an ordinary function
        HostFunction syncFetch = new HostFunction("env", "fetch", FunctionType.of(List.of(ValType.I32),
                List.of(ValType.I32)), (inst, args) -> new long[] {args[0]});
        assertThatThrownBy(() -> Linker.builder().withHostFunction(syncFetch).withHostFunction(log(logs))
                .withGlobal(base(0)).build().instantiatePre(module)).isInstanceOf(UnlinkableException.class)
                .hasMessageContaining("env.fetch was declared async").hasMessageContaining("link an AsyncImport");
        // linked async, but the module was built without it: the guest could not suspend there
        AsyncModule plain = AsyncModule.builderFromWat(COUNTER).build();
        assertThatThrownBy(() -> linker(logs).instantiatePre(plain)).isInstanceOf(UnlinkableException.class)
                .hasMessageContaining("env.fetch is linked as an async import but the module was built without it")
                .hasMessageContaining("withAsyncImports(\"env.fetch\")");
        // the same module linked with an ordinary fetch runs, never suspending
        InstancePre syncPre = Linker.builder().withHostFunction(syncFetch).withHostFunction(log(logs))
                .withGlobal(base(0)).build().instantiatePre(plain);
        try (AsyncInstance guest = syncPre.instantiate()) {
            assertThat(guest.callBlocking("bump", 4)).containsExactly(4);
            assertThat(guest.metrics().suspensions()).isZero();
        }
        assertThatThrownBy(() -> AsyncModule.builderFromWat(COUNTER).withAsyncImports("fetch"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("module.name");
    }

    @Test
    void aNameImportedTwiceWithTwoTypesLinksToADefinitionOfEach() {
        String twice = """
                (module
                  (import "spectest" "print" (func $a (param i32)))
                  (import "spectest" "print" (func $b (param i64)))
                  (func (export "f") (call $a (i32.const 1)) (call $b (i64.const 2))))
                """;
        AsyncModule module = AsyncModule.builderFromWat(twice).build();
        List<String> printed = new java.util.concurrent.CopyOnWriteArrayList<>();
        HostFunction i32 = new HostFunction("spectest", "print", FunctionType.of(List.of(ValType.I32), List.of()),
                (inst, args) -> {
                    printed.add("i32 " + args[0]);
                    return null;
                });
        HostFunction i64 = new HostFunction("spectest", "print", FunctionType.of(List.of(ValType.I64), List.of()),
                (inst, args) -> {
                    printed.add("i64 " + args[0]);
                    return null;
                });
        assertThatThrownBy(() -> Linker.builder().withHostFunction(i32).build().instantiatePre(module))
                .isInstanceOf(UnlinkableException.class).hasMessageContaining("incompatible import type for spectest.print");
        try (AsyncInstance guest = Linker.builder().withHostFunction(i32).withHostFunction(i64).build()
                .instantiatePre(module).instantiate()) {
            guest.callBlocking("f");
        }
        assertThat(printed).containsExactly("i32 1", "i64 2");
    }

    @Test
    void endiveImportValuesAndWasiLink() {
        String wasi = """
                (module
                  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
                  (import "env" "base" (global $base i32))
                  (func (export "get") (result i32) (global.get $base)))
                """;
        ImportValues values = ImportValues.builder().addGlobal(base(77)).build();
        AsyncModule module = AsyncModule.builderFromWat(wasi).build();
        assertThatThrownBy(() -> Linker.builder().withImportValues(values).build().instantiatePre(module))
                .isInstanceOf(UnlinkableException.class)
                .hasMessageContaining("unknown import wasi_snapshot_preview1.proc_exit");
        InstancePre pre = Linker.builder().withImportValues(values).withWasi(WasiOptions.builder().build()).build()
                .instantiatePre(module);
        try (AsyncInstance guest = pre.instantiate()) {
            assertThat(guest.callBlocking("get")).containsExactly(77);
        }
    }

    @Test
    void aMachineFactoryIsAPlugInPoint() {
        AtomicInteger machines = new AtomicInteger();
        AsyncModule module = AsyncModule.builderFromWat(COUNTER).withAsyncImports("env.fetch")
                .withMachineFactory(instance -> {
                    machines.incrementAndGet();
                    return new InterpreterMachine(instance);
                }).build();
        InstancePre pre = linker(new AtomicInteger()).instantiatePre(module);
        try (AsyncInstance a = pre.instantiate(); AsyncInstance b = pre.instantiate()) {
            assertThat(a.callBlocking("bump", 3)).containsExactly(1003);
            assertThat(b.callBlocking("bump", 3)).containsExactly(1003);
        }
        assertThat(machines.get()).isEqualTo(2);
    }

    @Test
    void aLinkedModuleRunsOnASchedulerWithItsOwnSettings() throws Exception {
        InstancePre pre = linker(new AtomicInteger())
                .instantiatePre(AsyncModule.builderFromWat(COUNTER).withAsyncImports("env.fetch").build());
        try (Scheduler scheduler = Scheduler.builder().withWorkers(1).withQuantum(10_000).build();
             AsyncInstance guest = scheduler.guest(pre.builder().withPriority(2)).build()) {
            assertThat(guest.call("bump", 9).get(30, TimeUnit.SECONDS)).containsExactly(1009);
        }
    }
}
