package io.asyncify4j.benchmarks;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Binaryen's {@code wasm-opt}, the peer we compare with, when it is installed (Debian package binaryen). */
public final class Binaryen {
    private final Path wasmOpt;
    private final String version;

    private Binaryen(Path wasmOpt, String version) {
        this.wasmOpt = wasmOpt;
        this.version = version;
    }

    /** {@code wasm-opt} at {@code explicit}, or found on PATH; empty when there is none or it does not run. */
    public static Optional<Binaryen> find(Path explicit) {
        Path candidate = explicit;
        if (candidate == null) {
            String path = System.getenv("PATH");
            if (path != null) {
                for (String dir : path.split(File.pathSeparator)) {
                    Path p = Path.of(dir.isEmpty() ? "." : dir, "wasm-opt");
                    if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                        candidate = p;
                        break;
                    }
                }
            }
        }
        if (candidate == null) {
            return Optional.empty();
        }
        try {
            Result r = exec(List.of(candidate.toString(), "--version"), 60);
            if (r.exitCode != 0) {
                return Optional.empty();
            }
            return Optional.of(new Binaryen(candidate, r.output.strip()));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    public Path path() {
        return wasmOpt;
    }

    /** What {@code wasm-opt --version} printed, e.g. {@code wasm-opt version 108}. */
    public String version() {
        return version;
    }

    /** The output of a wasm-opt run and its wall time (process start to exit). */
    public record Output(byte[] wasm, long nanos) {}

    /**
     * Runs {@code wasm-opt IN ARGS... -o OUT}, e.g. with {@code --asyncify
     * --pass-arg=asyncify-imports@env.async_tick -O}.
     */
    public Output run(byte[] input, List<String> args) throws IOException {
        Path dir = Files.createTempDirectory("asyncify4j-bench");
        Path in = dir.resolve("in.wasm");
        Path out = dir.resolve("out.wasm");
        try {
            Files.write(in, input);
            List<String> cmd = new ArrayList<>();
            cmd.add(wasmOpt.toString());
            cmd.add(in.toString());
            cmd.addAll(args);
            cmd.add("-o");
            cmd.add(out.toString());
            long t0 = System.nanoTime();
            Result r = exec(cmd, 1800);
            long nanos = System.nanoTime() - t0;
            if (r.exitCode != 0) {
                throw new IOException("wasm-opt " + String.join(" ", args) + " failed (exit " + r.exitCode + "): "
                        + r.output.strip());
            }
            return new Output(Files.readAllBytes(out), nanos);
        } finally {
            Files.deleteIfExists(in);
            Files.deleteIfExists(out);
            Files.deleteIfExists(dir);
        }
    }

    private record Result(int exitCode, String output) {}

    private static Result exec(List<String> cmd, long timeoutSeconds) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        Process p = pb.start();
        try {
            byte[] output = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(cmd.get(0) + " timed out");
            }
            return new Result(p.exitValue(), new String(output, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
