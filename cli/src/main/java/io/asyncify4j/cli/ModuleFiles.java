package io.asyncify4j.cli;

import com.dylibso.chicory.wabt.Wat2Wasm;
import io.asyncify4j.spectest.wast.WabtDiagnostics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Reading the input files of {@code shell} and {@code info}. */
final class ModuleFiles {
    enum Kind { WAT, WASM, WAST }

    private ModuleFiles() {}

    /** The kind of an existing input file, by extension (or the wasm magic number). */
    static Kind kind(Path file) {
        requireFile(file);
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".wat")) {
            return Kind.WAT;
        }
        if (name.endsWith(".wast")) {
            return Kind.WAST;
        }
        if (name.endsWith(".wasm") || hasWasmMagic(file)) {
            return Kind.WASM;
        }
        throw CliException.badInput("unsupported input " + file + " (expected .wat, .wasm or .wast)");
    }

    static void requireFile(Path file) {
        if (!Files.exists(file)) {
            throw CliException.badInput("no such file: " + file);
        }
        if (!Files.isRegularFile(file)) {
            throw CliException.badInput("not a regular file: " + file);
        }
    }

    /** The binary module of a {@code .wasm} or {@code .wat} file ({@code .wat} goes through wabt's wat2wasm). */
    static byte[] wasmBytes(Path file) {
        Kind kind = kind(file);
        try {
            if (kind == Kind.WAT) {
                try {
                    byte[] wasm = Wat2Wasm.parse(file.toFile());
                    if (wasm.length == 0) {
                        throw new IllegalStateException("wat2wasm produced no output");
                    }
                    return wasm;
                } catch (RuntimeException e) {
                    throw CliException.badInput("cannot parse " + file + ": " + WabtDiagnostics.explainWat2Wasm(file), e);
                }
            }
            if (kind == Kind.WASM) {
                return Files.readAllBytes(file);
            }
        } catch (IOException e) {
            throw CliException.badInput("cannot read " + file + ": " + e.getMessage(), e);
        }
        throw CliException.badInput(file + " is a script; expected a .wat or .wasm module");
    }

    private static boolean hasWasmMagic(Path file) {
        try (var in = Files.newInputStream(file)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && magic[0] == 0 && magic[1] == 'a' && magic[2] == 's' && magic[3] == 'm';
        } catch (IOException e) {
            return false;
        }
    }
}
