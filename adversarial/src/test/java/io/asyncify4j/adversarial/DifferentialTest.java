package io.asyncify4j.adversarial;

import static org.assertj.core.api.Assertions.assertThat;

import run.endive.runtime.ExportFunction;
import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportFunction;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.wasm.Parser;
import run.endive.wasm.types.FunctionType;
import io.asyncify4j.asyncify.Asyncify;
import io.asyncify4j.asyncify.AsyncifyAbi;
import io.asyncify4j.asyncify.AsyncifyOptions;
import io.asyncify4j.engine.SuspendPolicy;
import io.asyncify4j.engine.SuspensionDriver;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.Export;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.Import;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.validation.Validator;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Random modules (binaryen's translate-to-fuzz output, committed under src/test/resources/random;
 * scripts/generate-random-corpus.sh regenerates them) run three ways: plain on Endive; asyncified
 * with every import unwinding and the host suspending at every import call; and fuel-metered with a
 * one-unit quantum, so the host preempts the guest (unwind, rewind) at every fuel check. Every export
 * is called in order after {@code hangLimitInitializer}; the logged values, results, traps and the
 * final memory must be identical in the three runs.
 */
class DifferentialTest {
    private static final AsyncifyOptions SUSPEND = AsyncifyOptions.builder()
            .dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY).secondaryMemoryPages(1, 16384)
            .importState(true).deferStart(true).build();
    private static final AsyncifyOptions PREEMPT = AsyncifyOptions.builder()
            .dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY).secondaryMemoryPages(1, 16384)
            .importState(true).deferStart(true).fuel(true).build();

    static Stream<Path> modules() throws Exception {
        return SeedCorpus.directory(SeedCorpus.repoRoot().resolve("adversarial/src/test/resources/random")).stream()
                .map(s -> Path.of(s.name()));
    }

    private static byte[] read(Path name) throws Exception {
        return java.nio.file.Files.readAllBytes(
                SeedCorpus.repoRoot().resolve("adversarial/src/test/resources/random").resolve(name));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("modules")
    void plainSuspendedAndPreemptedRunsAgree(Path name) throws Exception {
        byte[] wasm = read(name);
        ModuleModel model = WasmCodec.decode(wasm);
        Validator.validate(model);
        List<String> plain = run(model, wasm, null, null);

        SuspensionDriver suspender = new SuspensionDriver(SuspendPolicy.always());
        List<String> suspended = run(model, Asyncify.transform(wasm, SUSPEND), suspender, null);

        SuspensionDriver preempter = new SuspensionDriver(SuspendPolicy.always());
        List<String> preempted = run(model, Asyncify.transform(wasm, PREEMPT), preempter, preempter);

        assertThat(suspended).as("asyncified, suspended at every import").isEqualTo(plain);
        assertThat(preempted).as("fuel-metered, preempted at every check").isEqualTo(plain);
        assertThat(plain).as("the module ran some exports").anyMatch(s -> s.startsWith("call "));
        if (plain.stream().anyMatch(s -> s.startsWith("log "))) {
            assertThat(suspender.suspensions()).as("suspensions").isPositive();
        }
        PREEMPTIONS.addAndGet(preempter.preemptions());
        MODULES.incrementAndGet();
    }

    private static final java.util.concurrent.atomic.AtomicLong PREEMPTIONS = new java.util.concurrent.atomic.AtomicLong();
    private static final java.util.concurrent.atomic.AtomicLong MODULES = new java.util.concurrent.atomic.AtomicLong();

    /** Some modules run too little to exhaust even a one-unit quantum; over the corpus preemption is everywhere. */
    @org.junit.jupiter.api.AfterAll
    static void preemptedOften() {
        org.slf4j.LoggerFactory.getLogger(DifferentialTest.class).info("differential: {} modules, {} preemptions", MODULES.get(), PREEMPTIONS.get());
        if (MODULES.get() == 40) {
            assertThat(PREEMPTIONS.get()).as("preemptions over the corpus").isGreaterThan(300); // measured: 674
        }
    }

    /** Runs every export in order; returns the trace: logs, results or traps, and the memory's digest. */
    private static List<String> run(ModuleModel model, byte[] wasm, SuspensionDriver driver, SuspensionDriver fuel)
            throws Exception {
        List<String> trace = new ArrayList<>();
        List<ImportFunction> functions = new ArrayList<>();
        for (Import imp : model.imports()) {
            assertThat(imp.kind()).as("import %s", imp).isEqualTo(ExternalKind.FUNCTION);
            assertThat(imp.module()).isEqualTo("fuzzing-support");
            String kind = imp.name().substring("log-".length());
            var params = model.funcType(imp.typeIndex()).params();
            List<run.endive.wasm.types.ValType> engineParams = new ArrayList<>();
            for (var p : params) {
                engineParams.add(switch (p.kind()) {
                    case I32 -> run.endive.wasm.types.ValType.I32;
                    case I64 -> run.endive.wasm.types.ValType.I64;
                    case F32 -> run.endive.wasm.types.ValType.F32;
                    case F64 -> run.endive.wasm.types.ValType.F64;
                    default -> throw new AssertionError("log import of " + p);
                });
            }
            ImportFunction f = new HostFunction(imp.module(), imp.name(), FunctionType.of(engineParams, List.of()),
                    (inst, args) -> {
                        trace.add("log " + kind + " " + Arrays.toString(args));
                        return null;
                    });
            functions.add(driver == null ? f : driver.suspending(f));
        }
        ImportValues.Builder imports = ImportValues.builder().withFunctions(functions);
        if (driver != null) {
            imports.addFunction(driver.suspendPoint());
            List<run.endive.runtime.ImportGlobal> globals = new ArrayList<>();
            globals.add(driver.stateImport());
            if (fuel != null) {
                imports.addFunction(fuel.fuelExhausted());
                globals.add(fuel.fuelImport(1));
            }
            imports.withGlobals(globals);
        }
        Instance instance = Instance.builder(Parser.parse(wasm)).withImportValues(imports.build()).build();
        Function<String, long[]> call = name -> {
            ExportFunction e = instance.export(name);
            return driver == null ? e.apply() : driver.call(e);
        };
        if (driver != null && hasExport(model, AsyncifyAbi.DEFERRED_START_EXPORT)) {
            call.apply(AsyncifyAbi.DEFERRED_START_EXPORT);
        }
        for (Export x : model.exports()) {
            if (x.kind() != ExternalKind.FUNCTION || x.name().equals("hangLimitInitializer")) {
                continue;
            }
            if (hasExport(model, "hangLimitInitializer")) {
                call.apply("hangLimitInitializer");
            }
            try {
                trace.add("call " + x.name() + " -> " + Arrays.toString(call.apply(x.name())));
            } catch (run.endive.wasm.WasmEngineException e) {
                trace.add("call " + x.name() + " trapped: " + e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }
        if (hasMemory(model)) {
            byte[] mem = instance.memory().readBytes(0, instance.memory().pages() * 65536);
            trace.add("memory " + instance.memory().pages() + " pages, sha-256 "
                    + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(mem)));
        }
        return trace;
    }

    private static boolean hasExport(ModuleModel m, String name) {
        return m.exports().stream().anyMatch(x -> x.name().equals(name) && x.kind() == ExternalKind.FUNCTION);
    }

    private static boolean hasMemory(ModuleModel m) {
        return !m.memories().isEmpty() || m.importCount(ExternalKind.MEMORY) > 0;
    }
}
