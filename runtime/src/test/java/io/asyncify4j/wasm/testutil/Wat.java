package io.asyncify4j.wasm.testutil;

import com.dylibso.chicory.wabt.Wast2Json;
import com.dylibso.chicory.wabt.Wat2Wasm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/** Text to binary through Chicory's wabt build. */
public final class Wat {
    private Wat() {}

    private static final Map<String, byte[]> CACHE = new ConcurrentHashMap<>();

    /** wat2wasm with its default features (MVP, SIMD, bulk memory, reference types, multi-value...). */
    public static byte[] wat(String text) {
        return CACHE.computeIfAbsent("wat:" + text, k -> Wat2Wasm.parse(text)).clone();
    }

    /**
     * A single-module text compiled with {@code wast2json --enable-all}: Chicory's wat2wasm takes no feature
     * flags, so post-MVP proposals (tail calls, multi-memory, threads, extended-const) go through wast2json.
     */
    public static byte[] watAll(String moduleText) {
        return CACHE.computeIfAbsent("all:" + moduleText, k -> {
            List<byte[]> modules = wast2json(moduleText);
            if (modules.size() != 1) {
                throw new IllegalStateException("expected one module, got " + modules.size());
            }
            return modules.get(0);
        }).clone();
    }

    /** Converts a script with {@code --enable-all} and returns its binary modules in script order. */
    public static List<byte[]> wast2json(String script) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("asyncify4j-wat");
            Path wast = dir.resolve("m.wast");
            Files.writeString(wast, script);
            Wast2Json.builder().withFile(wast.toFile()).withOutput(dir.resolve("m.json").toFile())
                    .withOptions(new String[] {"--enable-all"}).build().process();
            List<Path> wasms = new ArrayList<>();
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> p.getFileName().toString().endsWith(".wasm")).forEach(wasms::add);
            }
            wasms.sort(Comparator.comparingInt(Wat::moduleNumber));
            List<byte[]> out = new ArrayList<>();
            for (Path p : wasms) {
                out.add(Files.readAllBytes(p));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            deleteTree(dir);
        }
    }

    private static int moduleNumber(Path p) {
        String n = p.getFileName().toString(); // m.<N>.wasm
        return Integer.parseInt(n.substring(n.indexOf('.') + 1, n.lastIndexOf('.')));
    }

    public static void deleteTree(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }
}
