package io.asyncify4j.engine;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import java.util.function.Function;
import run.endive.compiler.MachineFactoryCompiler;
import run.endive.runtime.ByteArrayMemory;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
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

    /** Parses and validates a module; throws the engine's {@code MalformedException} / {@code InvalidException}. */
    public static WasmModule parse(byte[] wasm) {
        return Parser.parse(wasm);
    }

    /** An instance builder for {@code module} with {@code imports}, running on {@code kind}. */
    public static Instance.Builder builder(WasmModule module, ImportValues imports, Kind kind) {
        Instance.Builder b = Instance.builder(module).withImportValues(imports);
        if (kind == Kind.COMPILER) {
            b.withMachineFactory(MachineFactoryCompiler.compile(module));
        }
        return b;
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
