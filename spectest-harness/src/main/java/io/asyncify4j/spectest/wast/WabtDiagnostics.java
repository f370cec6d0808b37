package io.asyncify4j.spectest.wast;

import com.dylibso.chicory.runtime.ImportValues;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Machine;
import com.dylibso.chicory.wabt.Wast2JsonModule;
import com.dylibso.chicory.wabt.Wat2WasmModule;
import com.dylibso.chicory.wasi.WasiExitException;
import com.dylibso.chicory.wasi.WasiOptions;
import com.dylibso.chicory.wasi.WasiPreview1;
import com.dylibso.chicory.wasm.WasmModule;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Explains why wabt rejected an input.
 *
 * <p>Chicory's {@code Wast2Json} and {@code Wat2Wasm} wrappers discard wabt's error output and only
 * report "Process exit code: 1". When a conversion fails, this class runs the same wabt module once
 * more with its output captured, to give a readable reason (e.g. {@code array.wast:4:4: error:
 * unexpected token "type"}). It is best effort: any problem yields a generic reason.
 */
public final class WabtDiagnostics {
    private static final Logger LOG = LoggerFactory.getLogger(WabtDiagnostics.class);
    private static final int MAX_REASON = 300;

    private WabtDiagnostics() {}

    private static final class Wast2JsonHolder {
        static final WasmModule MODULE = Wast2JsonModule.load();
    }

    private static final class Wat2WasmHolder {
        static final WasmModule MODULE = Wat2WasmModule.load();
    }

    /** Why {@code wast2json --enable-all} fails on {@code wast}. */
    public static String explainWast2Json(Path wast, List<String> options) {
        try {
            return run(
                    "wast2json",
                    Wast2JsonHolder.MODULE,
                    Wast2JsonModule::create,
                    wast,
                    out -> {
                        List<String> args = new ArrayList<>(List.of("-o", out + "/out.json"));
                        args.addAll(options);
                        return args;
                    });
        } catch (RuntimeException | IOException | LinkageError e) {
            LOG.debug("cannot diagnose wast2json failure of {}", wast, e);
            return "wast2json failed (" + e.getMessage() + ")";
        }
    }

    /** Why {@code wat2wasm} fails on {@code wat} (the options Chicory's {@code Wat2Wasm} uses). */
    public static String explainWat2Wasm(Path wat) {
        try {
            return run(
                    "wat2wasm",
                    Wat2WasmHolder.MODULE,
                    Wat2WasmModule::create,
                    wat,
                    out -> List.of("--output=" + out + "/out.wasm"));
        } catch (RuntimeException | IOException | LinkageError e) {
            LOG.debug("cannot diagnose wat2wasm failure of {}", wat, e);
            return "wat2wasm failed (" + e.getMessage() + ")";
        }
    }

    private static String run(
            String tool,
            WasmModule module,
            Function<Instance, Machine> machine,
            Path input,
            Function<String, List<String>> extraArgs)
            throws IOException {
        Path work = Files.createTempDirectory("asyncify4j-wabt-");
        try {
            Path in = Files.createDirectory(work.resolve("in"));
            Path out = Files.createDirectory(work.resolve("out"));
            String name = input.getFileName().toString();
            Files.copy(input, in.resolve(name));
            ByteArrayOutputStream output = new ByteArrayOutputStream();
            List<String> args = new ArrayList<>(List.of(tool, "in/" + name));
            args.addAll(extraArgs.apply("out"));
            WasiOptions options =
                    WasiOptions.builder()
                            .withStdout(output)
                            .withStderr(output)
                            .withDirectory("in", in)
                            .withDirectory("out", out)
                            .withArguments(args)
                            .build();
            int exit = 0;
            try (WasiPreview1 wasi = WasiPreview1.builder().withOptions(options).build()) {
                Instance.builder(module)
                        .withImportValues(ImportValues.builder().addFunction(wasi.toHostFunctions()).build())
                        .withMachineFactory(machine)
                        .build();
            } catch (WasiExitException e) {
                exit = e.exitCode();
            }
            String text = output.toString(StandardCharsets.UTF_8);
            return summarize(tool, exit, text);
        } finally {
            deleteRecursively(work);
        }
    }

    /** The first error lines of wabt's output, without the {@code in/} prefix of our sandbox. */
    static String summarize(String tool, int exit, String output) {
        String plain = output.replaceAll("\u001B\\[[0-9;]*[A-Za-z]", "");
        List<String> errors =
                plain.lines()
                        .map(String::strip)
                        .filter(l -> l.contains("error:"))
                        .map(l -> l.startsWith("in/") ? l.substring(3) : l)
                        .collect(Collectors.toList());
        String reason;
        if (!errors.isEmpty()) {
            reason = tool + ": " + errors.get(0) + (errors.size() > 1 ? " (+" + (errors.size() - 1) + " more errors)" : "");
        } else if (!plain.isBlank()) {
            reason = tool + ": " + plain.lines().map(String::strip).filter(l -> !l.isEmpty()).findFirst().orElse("");
        } else {
            reason = tool + " exited with code " + exit;
        }
        return reason.length() > MAX_REASON ? reason.substring(0, MAX_REASON) + "..." : reason;
    }

    static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    LOG.debug("cannot delete {}", p, e);
                }
            });
        } catch (IOException e) {
            LOG.debug("cannot delete {}", dir, e);
        }
    }
}
