package io.asyncify4j.asyncify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.asyncify4j.engine.Engines;
import io.asyncify4j.engine.ModuleExports;
import io.asyncify4j.engine.SuspendPolicy;
import io.asyncify4j.engine.SuspensionDriver;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.ModuleModel;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportFunction;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.wasi.WasiExitException;
import run.endive.wasi.WasiOptions;
import run.endive.wasi.WasiPreview1;
import run.endive.wasm.WasmModule;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;

/**
 * {@link AsyncifyOptions.Target#COMPILER}: metered output shaped for Endive's compiler, which turns each
 * wasm function into one JVM method. HotSpot never compiles a method of more than 8,000 bytes of
 * bytecode ({@code -XX:HugeMethodLimit}); above about 10,000 its compilers give up too (C1: out of
 * virtual registers, C2: out of nodes), so such a method runs in the JVM's bytecode interpreter for good.
 * Loop unrolling for the fuel checks (the interpreter's shape) grew the workloads' kernels past that
 * (fannkuch's from 1,058 bytes plain to 29,217 metered), so the compiler's shape does not unroll.
 * Sizes are deterministic: nothing here is timed.
 */
class CompilerTargetTest {

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"fannkuch.wasm, $fannkuch", "nbody.wasm, $simulate", "sort_hash.wasm, $quick_sort"})
    void meteredKernelsStayUnderHotSpotsHugeMethodLimit(String file, String kernel) throws IOException {
        requireCompiler();
        byte[] wasm = Files.readAllBytes(CWorkloadDifferentialTest.workloadsDir().resolve(file));
        int compiled = methodBytes(Asyncify.transform(wasm, metered(AsyncifyOptions.Target.COMPILER)), kernel);
        assertThat(compiled).as("JVM bytecode of %s, metered for the compiler", kernel).isLessThan(HUGE_METHOD_LIMIT);
        if (file.equals("fannkuch.wasm")) {
            // The interpreter's shape (unrolled loops) is what the compiler must not get.
            assertThat(methodBytes(Asyncify.transform(wasm, metered(AsyncifyOptions.Target.INTERPRETER)), kernel))
                    .isGreaterThan(HUGE_METHOD_LIMIT);
        }
    }

    @org.junit.jupiter.api.Test
    void theResumingCopyLivesInAFunctionOfItsOwnSoTheRunningMethodStaysSmall() throws IOException {
        requireCompiler();
        byte[] wasm = Files.readAllBytes(CWorkloadDifferentialTest.workloadsDir().resolve("fannkuch.wasm"));
        int plain = methodBytes(wasm, "$fannkuch");
        byte[] compiler = Asyncify.transform(wasm, ours(AsyncifyOptions.Target.COMPILER));
        byte[] interpreter = Asyncify.transform(wasm, ours(AsyncifyOptions.Target.INTERPRETER));
        // Two copies of the body in one method in the interpreter's shape; the running copy alone (and the
        // call to the resuming copy) in the compiler's, which moves the rest to $fannkuch$resume.
        assertThat(methodBytes(interpreter, "$fannkuch")).isGreaterThan(3 * plain);
        assertThat(methodBytes(compiler, "$fannkuch")).isLessThan(2 * plain);
        assertThat(methodBytes(compiler, "$fannkuch$resume")).isGreaterThan(plain);
        assertThat(WasmCodec.decode(interpreter).functionCount()).isEqualTo(WasmCodec.decode(compiler).functionCount()
                - Asyncify.transform(WasmCodec.decode(wasm), ours(AsyncifyOptions.Target.COMPILER)).instrumented().stream()
                        .filter(f -> methodExists(compiler, f.name() + "$resume")).count());
    }

    private static boolean methodExists(byte[] wasm, String name) {
        ModuleModel model = WasmCodec.decode(wasm);
        for (int f = 0; f < model.functionCount(); f++) {
            if (model.functionDisplayName(f).equals(name)) {
                return true;
            }
        }
        return false;
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"fannkuch.wasm, 7 1", "nbody.wasm, 2000", "sort_hash.wasm, 5000 1"})
    void meteredForTheCompilerRunsLikeThePlainModuleWhenPreempted(String file, String args) throws IOException {
        requireCompiler();
        byte[] wasm = Files.readAllBytes(CWorkloadDifferentialTest.workloadsDir().resolve(file));
        List<String> argv = new ArrayList<>(List.of(file));
        argv.addAll(List.of(args.split(" ")));
        String plain = run(wasm, argv, null);
        byte[] metered = Asyncify.transform(wasm, metered(AsyncifyOptions.Target.COMPILER));
        // A small quantum, and every 3rd fuel refill or async_tick call unwinds to the host and rewinds.
        String preempted = run(metered, argv, new SuspensionDriver(new SuspendPolicy() {
            private long n;

            @Override
            public boolean shouldSuspend() {
                return ++n % 3 == 0;
            }
        }));
        assertThat(preempted).isEqualTo(plain);
    }

    @org.junit.jupiter.api.Test
    void theInterpretersShapeIsTheDefault() {
        assertThat(AsyncifyOptions.defaults().target()).isEqualTo(AsyncifyOptions.Target.INTERPRETER);
    }

    private static final int HUGE_METHOD_LIMIT = 8_000;

    /** Skips a case on an Endive runtime its compiler cannot run (the endive-latest profile). */
    private static void requireCompiler() {
        assumeTrue(Engines.compilerSupported(), "Endive's compiler cannot run modules of runtime " + Engines.version());
    }

    /** The runtime's options (see {@code AsyncInstance}) with async_tick as the only unwinding import. */
    private static AsyncifyOptions.Builder runtime(AsyncifyOptions.Target target) {
        return AsyncifyOptions.builder()
                .unwindingImports(List.of("env.async_tick"))
                .dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY)
                .importState(true)
                .deferStart(true)
                .v128ViaHost(true)
                .target(target);
    }

    private static AsyncifyOptions ours(AsyncifyOptions.Target target) {
        return runtime(target).build();
    }

    private static AsyncifyOptions metered(AsyncifyOptions.Target target) {
        return runtime(target).fuel(true).build();
    }

    /** Bytes of JVM bytecode in the method Endive's compiler makes of the function named {@code name}. */
    private static int methodBytes(byte[] wasm, String name) throws IOException {
        ModuleModel model = WasmCodec.decode(wasm);
        int index = -1;
        for (int f = 0; f < model.functionCount(); f++) {
            if (model.functionDisplayName(f).equals(name)) {
                index = f;
            }
        }
        assertThat(index).as("function %s", name).isNotNegative();
        Map<String, Integer> sizes = new HashMap<>();
        for (byte[] c : run.endive.compiler.internal.Compiler.builder(Engines.parse(wasm)).build().compile()
                .classBytes().values()) {
            codeLengths(c, sizes);
        }
        return sizes.get("func_" + index);
    }

    /** The code length of every method of a class file, by name (the largest of overloads). */
    private static void codeLengths(byte[] classFile, Map<String, Integer> out) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(classFile));
        in.skipNBytes(8); // magic, versions
        int count = in.readUnsignedShort();
        String[] utf8 = new String[count];
        for (int i = 1; i < count; i++) {
            int tag = in.readUnsignedByte();
            switch (tag) {
                case 1 -> utf8[i] = in.readUTF();
                case 5, 6 -> { // long, double: two slots
                    in.skipNBytes(8);
                    i++;
                }
                case 3, 4, 9, 10, 11, 12, 17, 18 -> in.skipNBytes(4);
                case 7, 8, 16, 19, 20 -> in.skipNBytes(2);
                case 15 -> in.skipNBytes(3);
                default -> throw new IOException("constant pool tag " + tag);
            }
        }
        in.skipNBytes(6); // access, this, super
        in.skipNBytes(2L * in.readUnsignedShort()); // interfaces
        int fields = in.readUnsignedShort();
        for (int i = 0; i < fields; i++) {
            in.skipNBytes(6);
            int attributes = in.readUnsignedShort();
            for (int a = 0; a < attributes; a++) {
                in.skipNBytes(2);
                in.skipNBytes(in.readInt());
            }
        }
        int methods = in.readUnsignedShort();
        for (int i = 0; i < methods; i++) {
            in.skipNBytes(2);
            String name = utf8[in.readUnsignedShort()];
            in.skipNBytes(2);
            int attributes = in.readUnsignedShort();
            for (int a = 0; a < attributes; a++) {
                String attribute = utf8[in.readUnsignedShort()];
                byte[] body = in.readNBytes(in.readInt());
                if (attribute.equals("Code")) {
                    int length = new DataInputStream(new ByteArrayInputStream(body, 4, 4)).readInt();
                    out.merge(name, length, Math::max);
                }
            }
        }
    }

    /** Runs {@code _start} on Endive's compiler; with a driver, metered (quantum 5,000) and driven by it. */
    private static String run(byte[] wasm, List<String> argv, SuspensionDriver driver) {
        WasmModule module = Engines.parse(wasm);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long[] ticks = {0};
        HostFunction tick = new HostFunction("env", "async_tick", FunctionType.of(List.of(ValType.I32), List.of()),
                (instance, args) -> {
                    ticks[0] = ticks[0] * 31 + args[0];
                    return null;
                });
        WasiOptions options = WasiOptions.builder().withStdout(out).withStderr(out).withArguments(argv).build();
        try (WasiPreview1 wasi = WasiPreview1.builder().withOptions(options).build()) {
            List<ImportFunction> functions = new ArrayList<>(List.of(wasi.toHostFunctions()));
            ImportValues.Builder imports = ImportValues.builder();
            if (driver != null) {
                functions.add(driver.suspending(tick));
                functions.add(driver.fuelExhausted());
                functions.addAll(SuspensionDriver.v128Imports());
                imports.addGlobal(driver.stateImport()).addGlobal(driver.fuelImport(5_000));
            } else {
                functions.add(tick);
            }
            Instance instance = Engines.builder(module, imports.withFunctions(functions).build(), Engines.Kind.COMPILER)
                    .withStart(false).build();
            int exit = 0;
            try {
                if (driver != null) {
                    if (ModuleExports.has(module, AsyncifyAbi.DEFERRED_START_EXPORT)) {
                        driver.call(instance.export(AsyncifyAbi.DEFERRED_START_EXPORT));
                    }
                    driver.call(instance.export("_start"));
                } else {
                    instance.export("_start").apply();
                }
            } catch (WasiExitException e) {
                exit = e.exitCode();
            }
            if (driver != null) {
                assertThat(driver.preemptions()).as("fuel refills").isPositive();
                assertThat(driver.suspensions()).as("suspensions").isPositive();
            }
            return out.toString(java.nio.charset.StandardCharsets.UTF_8) + "exit " + exit + ", ticks " + ticks[0];
        }
    }
}
