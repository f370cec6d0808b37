package io.asyncify4j.spectest;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The expected-failure list: known limitations of the engine, one entry per line.
 *
 * <pre>
 * # comment
 * i32.wast:123  reason why line 123 fails
 * simd_lane.wast  reason why the whole script fails
 * proposals/threads/imports.wast:64  reason
 * </pre>
 *
 * <p>The key is the script's path relative to the testsuite root (forward slashes), optionally
 * followed by {@code :LINE} (the line of the command in the {@code .wast}); without a line the entry
 * covers every command of the script. Every entry must give a reason. A failure matching an entry is
 * an <em>expected failure</em>: reported, but counted with the skipped ones and not failing the run.
 * The same list applies to every mode.
 */
public final class ExpectedFailures {

    /** The list bundled with the harness. */
    public static final String RESOURCE = "/io/asyncify4j/spectest/expected-failures.txt";

    /**
     * One entry.
     *
     * @param script the script key
     * @param line the command line, or 0 for the whole script
     * @param reason why it fails
     * @param source where the entry was read ({@code file:line})
     */
    public record Entry(String script, int line, String reason, String source) {
        public boolean wholeScript() {
            return line == 0;
        }

        public String key() {
            return wholeScript() ? script : script + ":" + line;
        }

        /**
         * Whether the command's outcome depends on the JVM's state rather than on the module (reason
         * starting with {@value #VARIES}): it counts as an expected failure whether it fails or passes.
         */
        public boolean outcomeVaries() {
            return reason.startsWith(VARIES);
        }
    }

    /** Reason prefix of an entry whose command may pass or fail from one run to the next. */
    public static final String VARIES = "varies:";

    private final Map<String, Entry> scriptEntries;
    private final Map<String, Map<Integer, Entry>> lineEntries;
    private final List<Entry> entries;

    private ExpectedFailures(List<Entry> entries) {
        this.entries = List.copyOf(entries);
        Map<String, Entry> scripts = new LinkedHashMap<>();
        Map<String, Map<Integer, Entry>> lines = new LinkedHashMap<>();
        for (Entry e : entries) {
            if (e.wholeScript()) {
                scripts.put(e.script(), e);
            } else {
                lines.computeIfAbsent(e.script(), k -> new LinkedHashMap<>()).put(e.line(), e);
            }
        }
        this.scriptEntries = scripts;
        this.lineEntries = lines;
    }

    public static ExpectedFailures none() {
        return new ExpectedFailures(List.of());
    }

    /**
     * The list bundled with the harness for the engine in use: {@code expected-failures-endive-X.Y.txt}
     * beside {@value #RESOURCE} when there is one for the engine's version X.Y (the newest runtime, see
     * the {@code endive-latest} Maven profile), else {@value #RESOURCE} (Endive 1.0.x).
     */
    public static ExpectedFailures bundled() {
        String perVersion = RESOURCE.replace(".txt", "-endive-" + io.asyncify4j.engine.Engines.minorVersion() + ".txt");
        return ExpectedFailures.class.getResource(perVersion) != null ? resource(perVersion) : resource(RESOURCE);
    }

    private static ExpectedFailures resource(String name) {
        try (InputStream in = ExpectedFailures.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), name.substring(name.lastIndexOf('/') + 1));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static ExpectedFailures load(Path file) throws IOException {
        return parse(Files.readString(file, StandardCharsets.UTF_8), file.getFileName().toString());
    }

    /**
     * Parses the list.
     *
     * @throws IllegalArgumentException for an entry without a reason, a bad line number or a duplicate
     */
    public static ExpectedFailures parse(String text, String sourceName) {
        List<Entry> entries = new ArrayList<>();
        Map<String, Entry> seen = new LinkedHashMap<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String where = sourceName + ":" + (i + 1);
            String[] parts = line.split("\\s+", 2);
            String key = parts[0];
            String reason = parts.length > 1 ? parts[1].strip() : "";
            if (reason.isEmpty()) {
                throw new IllegalArgumentException(where + ": entry '" + key + "' has no reason");
            }
            String script = key;
            int lineNo = 0;
            int colon = key.lastIndexOf(':');
            if (colon > 0) {
                script = key.substring(0, colon);
                try {
                    lineNo = Integer.parseInt(key.substring(colon + 1));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(where + ": bad line number in '" + key + "'");
                }
                if (lineNo <= 0) {
                    throw new IllegalArgumentException(where + ": bad line number in '" + key + "'");
                }
            }
            if (!script.endsWith(".wast")) {
                throw new IllegalArgumentException(where + ": '" + key + "' does not name a .wast script");
            }
            Entry entry = new Entry(script.replace('\\', '/'), lineNo, reason, where);
            Entry previous = seen.put(entry.key(), entry);
            if (previous != null) {
                throw new IllegalArgumentException(where + ": duplicate entry '" + key + "' (first at " + previous.source() + ")");
            }
            entries.add(entry);
        }
        return new ExpectedFailures(entries);
    }

    /** The entry covering a failure at {@code line} of {@code script}: a line entry, else a whole-script entry. */
    public Entry lookup(String script, int line) {
        Entry e = lineEntry(script, line);
        return e != null ? e : scriptEntries.get(script);
    }

    public Entry lineEntry(String script, int line) {
        return lineEntries.getOrDefault(script, Map.of()).get(line);
    }

    public Entry scriptEntry(String script) {
        return scriptEntries.get(script);
    }

    /** The line entries of one script. */
    public List<Entry> lineEntries(String script) {
        return List.copyOf(lineEntries.getOrDefault(script, Collections.emptyMap()).values());
    }

    public List<Entry> entries() {
        return entries;
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }

    @Override
    public String toString() {
        return entries.stream().map(e -> e.key() + "  " + e.reason()).collect(Collectors.joining("\n"));
    }
}
