package io.asyncify4j.engine;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import java.util.function.Function;
import run.endive.compiler.MachineFactoryCompiler;
import run.endive.runtime.ByteArrayMemory;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.runtime.Machine;
import run.endive.runtime.Memory;
import run.endive.wasm.Parser;
import run.endive.wasm.UninstantiableException;
import run.endive.wasm.WasmModule;
import run.endive.wasm.types.MemoryLimits;

/**
 * The engine that runs guests, and the one place that knows how to make its machines: Endive
 * (Chicory's successor, {@code run.endive}), interpreted or compiled to JVM bytecode.
 *
 * <p>With {@link References} (externref and GC references as objects), {@link EngineErrors} (which
 * engine exceptions are traps, interruptions, load failures) and {@link SuspensionDriver}, this
 * package is the binding between asyncify4j and the engine; the codec and the transform
 * ({@code io.asyncify4j.wasm}, {@code io.asyncify4j.asyncify}) know nothing of it.
 */
public final class Engines {
    private Engines() {}

    /** How an instance runs its functions. */
    public enum Kind {
        /** Endive's interpreter: starts at once. */
        INTERPRETER,
        /** Endive's compiler to JVM bytecode: slower to load, faster to run. */
        COMPILER
    }

    /** The engine's name. */
    public static String name() {
        return "Endive";
    }

    /** The version of the engine's runtime (and parser), e.g. {@code 1.0.1}. */
    public static String version() {
        return run.endive.wasm.Version.version();
    }

    /** The version of the engine's compiler, which Endive publishes separately. */
    public static String compilerVersion() {
        return artifactVersion(MachineFactoryCompiler.class, "compiler");
    }

    /** {@code Endive 1.0.1 (compiler 1.0.0)}: what runs guests, for version output and reports. */
    public static String describe() {
        String compiler = compilerVersion();
        return name() + " " + version() + (compiler.equals(version()) ? "" : " (compiler " + compiler + ")");
    }

    private static String artifactVersion(Class<?> anchor, String artifact) {
        String path = "/META-INF/maven/run.endive/" + artifact + "/pom.properties";
        try (InputStream in = anchor.getResourceAsStream(path)) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                return p.getProperty("version", "unknown");
            }
        } catch (IOException e) {
            // fall through
        }
        return "unknown";
    }

    /**
     * Whether the engine's compiler runs modules of this runtime: Endive publishes its compiler at
     * 1.0.0 only, which fails on every module parsed by runtime 1.1.0+ (block types are encoded
     * differently since 1.1.0), so compiler and runtime must share their minor version.
     */
    public static boolean compilerSupported() {
        return minor(compilerVersion()).equals(minor(version()));
    }

    /** Whether the interpreter runs SIMD instructions (Endive 1.2.0+; 1.0.x and 1.1.x have none). */
    public static boolean interpreterRunsSimd() {
        return atLeast(version(), 1, 2);
    }

    /**
     * Whether the interpreter swaps a v128's two halves on {@code local.set} (Endive before 1.2.0;
     * pinned by EngineLimitationsTest). The v128 save/restore imports of {@link SuspensionDriver}
     * follow it.
     */
    public static boolean swapsV128HalvesOnLocalSet() {
        return !atLeast(version(), 1, 2);
    }

    /** The runtime's {@code major.minor}, e.g. {@code 1.0}. */
    public static String minorVersion() {
        return minor(version());
    }

    private static String minor(String version) {
        int second = version.indexOf('.', version.indexOf('.') + 1);
        return second < 0 ? version : version.substring(0, second);
    }

    private static boolean atLeast(String version, int major, int minor) {
        String[] parts = version.split("[.-]");
        try {
            int ma = Integer.parseInt(parts[0]);
            int mi = parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
            return ma > major || (ma == major && mi >= minor);
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** Parses and validates a module; throws the engine's {@code MalformedException} / {@code InvalidException}. */
    public static WasmModule parse(byte[] wasm) {
        return Parser.parse(wasm);
    }

    /**
     * An instance builder for {@code module} with {@code imports}, running on {@code kind}; the compiler
     * throws {@link UnsupportedOperationException} where {@link #compilerSupported} is false.
     */
    public static Instance.Builder builder(WasmModule module, ImportValues imports, Kind kind) {
        Instance.Builder b = Instance.builder(module).withImportValues(imports);
        if (kind == Kind.COMPILER) {
            b.withMachineFactory(compile(module));
        }
        return b;
    }

    /**
     * {@code module} compiled to JVM bytecode by the compiler, as a machine factory that instances of the
     * module share (compiling takes 100s of ms; instantiating from it does not); throws
     * {@link UnsupportedOperationException} where {@link #compilerSupported} is false.
     */
    public static Function<Instance, Machine> compile(WasmModule module) {
        if (!compilerSupported()) {
            throw new UnsupportedOperationException("Endive's compiler " + compilerVersion()
                    + " cannot run modules of runtime " + version() + " (it needs runtime " + minor(compilerVersion())
                    + ".x); use the interpreter");
        }
        return MachineFactoryCompiler.compile(module);
    }

    /** An instance builder for {@code module} with {@code imports}, running on machines {@link #compile compiled} before. */
    public static Instance.Builder builder(WasmModule module, ImportValues imports, Function<Instance, Machine> compiled) {
        return Instance.builder(module).withImportValues(imports).withMachineFactory(compiled);
    }

    /** Instantiates {@code module} on the interpreter, running its start function. */
    public static Instance instantiate(WasmModule module, ImportValues imports) {
        return builder(module, imports, Kind.INTERPRETER).build();
    }

    /** A linear memory of {@code initialPages} pages, growing to {@code maximumPages}. */
    public static Memory memory(int initialPages, int maximumPages, boolean shared) {
        return new ByteArrayMemory(new MemoryLimits(initialPages, maximumPages, shared));
    }

    /**
     * A memory factory ({@code Instance.Builder.withMemoryFactory}) that caps every memory at
     * {@code maxPages} and refuses, as uninstantiable, one that needs more from the start.
     */
    public static Function<MemoryLimits, Memory> cappedMemories(int maxPages) {
        return l -> {
            if (l.initialPages() > maxPages) {
                throw new UninstantiableException("memory of " + l.initialPages() + " pages exceeds the limit of "
                        + maxPages);
            }
            return memory(l.initialPages(), Math.min(l.maximumPages(), maxPages), l.shared());
        };
    }
}
