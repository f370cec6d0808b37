package io.asyncify4j.spectest.wast;

import com.dylibso.chicory.wabt.Wast2Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Converts {@code .wast} scripts to wast2json output with wabt's {@code Wast2Json} (compiled to JVM
 * bytecode by Chicory), caching the result.
 *
 * <p>The cache lives in one directory per script, keyed by a SHA-256 of the script content, its file
 * name, the wabt options and a cache-format version, so an edited script is converted again and an
 * unchanged one is not. Failed conversions are cached too (with wabt's reason), since wabt fails the
 * same way each time. Entries are written to a temporary directory and renamed into place, so
 * concurrent runs (threads or processes) never see half-written output.
 */
public final class WastConverter {
    private static final Logger LOG = LoggerFactory.getLogger(WastConverter.class);

    /** The options passed to wast2json. */
    public static final List<String> OPTIONS = List.of("--enable-all");

    private static final String CACHE_FORMAT = "asyncify4j-wast2json-v1 wabt-1.0.0";
    private static final String DONE = "DONE";
    private static final String FAILED = "FAILED";

    private final Path cacheDir;
    private final ConcurrentHashMap<String, Object> locks = new ConcurrentHashMap<>();

    public WastConverter(Path cacheDir) {
        this.cacheDir = cacheDir.toAbsolutePath();
    }

    /**
     * The default cache directory: system property {@code asyncify4j.wast2jsonCache}, else
     * {@code asyncify4j-wast2json} in the temporary directory.
     */
    public static Path defaultCacheDir() {
        String configured = System.getProperty("asyncify4j.wast2jsonCache");
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        return Path.of(System.getProperty("java.io.tmpdir"), "asyncify4j-wast2json-" + System.getProperty("user.name", "user"));
    }

    public Path cacheDir() {
        return cacheDir;
    }

    /** The outcome of a conversion: the JSON file, or why wabt could not convert the script. */
    public record Conversion(Path json, String failure, boolean cached) {
        public boolean converted() {
            return json != null;
        }
    }

    /** Converts {@code wast} (or finds its cached conversion). */
    public Conversion convert(Path wast) throws IOException {
        byte[] content = Files.readAllBytes(wast);
        String fileName = wast.getFileName().toString();
        String base = fileName.endsWith(".wast") ? fileName.substring(0, fileName.length() - 5) : fileName;
        String key = base + "-" + hash(content, fileName);
        Path entry = cacheDir.resolve(key);
        Path json = entry.resolve(base + ".json");

        Conversion cached = lookup(entry, json);
        if (cached != null) {
            return cached;
        }
        synchronized (locks.computeIfAbsent(key, k -> new Object())) {
            cached = lookup(entry, json);
            if (cached != null) {
                return cached;
            }
            Files.createDirectories(cacheDir);
            Path tmp = Files.createTempDirectory(cacheDir, key + ".tmp-");
            String failure = null;
            long start = System.nanoTime();
            try {
                Wast2Json.builder()
                        .withFile(wast.toFile())
                        .withOutput(tmp.resolve(base + ".json").toFile())
                        .withOptions(OPTIONS.toArray(new String[0]))
                        .build()
                        .process();
                if (!Files.isRegularFile(tmp.resolve(base + ".json"))) {
                    failure = "wast2json produced no output";
                }
            } catch (RuntimeException | StackOverflowError e) {
                LOG.debug("wast2json failed on {}", wast, e);
                failure = WabtDiagnostics.explainWast2Json(wast, OPTIONS);
            }
            if (failure != null) {
                WabtDiagnostics.deleteRecursively(tmp);
                Files.createDirectories(tmp);
                Files.writeString(tmp.resolve(FAILED), failure, StandardCharsets.UTF_8);
            } else {
                Files.writeString(tmp.resolve(DONE), fileName, StandardCharsets.UTF_8);
            }
            LOG.debug("converted {} in {} ms: {}", wast, (System.nanoTime() - start) / 1_000_000, failure == null ? "ok" : failure);
            publish(tmp, entry);
            Conversion result = lookup(entry, json);
            if (result == null) {
                throw new IOException("wast2json cache entry " + entry + " is incomplete");
            }
            return new Conversion(result.json(), result.failure(), false);
        }
    }

    private static Conversion lookup(Path entry, Path json) throws IOException {
        if (Files.exists(entry.resolve(DONE)) && Files.isRegularFile(json)) {
            return new Conversion(json, null, true);
        }
        if (Files.exists(entry.resolve(FAILED))) {
            return new Conversion(null, Files.readString(entry.resolve(FAILED), StandardCharsets.UTF_8), true);
        }
        return null;
    }

    private static void publish(Path tmp, Path entry) throws IOException {
        if (Files.exists(entry)) {
            // An entry without a marker is debris of an interrupted run: replace it.
            if (!Files.exists(entry.resolve(DONE)) && !Files.exists(entry.resolve(FAILED))) {
                WabtDiagnostics.deleteRecursively(entry);
            } else {
                WabtDiagnostics.deleteRecursively(tmp);
                return;
            }
        }
        try {
            Files.move(tmp, entry, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
            // Another process published the same entry first: theirs is as good as ours.
            WabtDiagnostics.deleteRecursively(tmp);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, entry);
        }
    }

    private static String hash(byte[] content, String fileName) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(CACHE_FORMAT.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(String.join(" ", OPTIONS).getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(fileName.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(content);
            return HexFormat.of().formatHex(sha.digest(), 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
