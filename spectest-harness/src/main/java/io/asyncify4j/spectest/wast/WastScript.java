package io.asyncify4j.spectest.wast;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A {@code .wast} script as converted by wast2json: its commands and the directory holding the module
 * files the commands refer to.
 *
 * @param id the script's identifier in reports and in the expected-failure list (its path relative to
 *     the testsuite root, or its file name)
 * @param source the {@code .wast} file
 * @param moduleDir the directory of the {@code .wasm}/{@code .wat} files written by wast2json
 * @param commands the commands, in script order
 */
public record WastScript(String id, Path source, Path moduleDir, List<WastCommand> commands) {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    public WastScript {
        commands = List.copyOf(commands);
    }

    /** Reads the bytes of a module file the script refers to. */
    public byte[] readModule(String filename) {
        try {
            return Files.readAllBytes(moduleDir.resolve(filename));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read module " + filename + " of " + id, e);
        }
    }

    /** Parses wast2json's JSON file. */
    public static WastScript load(String id, Path source, Path json) throws IOException {
        JsonNode root = MAPPER.readTree(json.toFile());
        List<WastCommand> commands = new ArrayList<>();
        for (JsonNode c : root.path("commands")) {
            commands.add(parseCommand(c));
        }
        return new WastScript(id, source, json.getParent(), fixMissingLines(commands, source));
    }

    private static final Pattern QUOTE_MODULE = Pattern.compile("\\(module(\\s+\\$\\S+)?\\s+quote\\b");
    private static final Pattern ANY_MODULE = Pattern.compile("\\(module\\b");

    /**
     * wast2json reports line 0 for {@code (module quote ...)} commands. Such a command is given the
     * first line after the previous command's line that opens a quote module (or any module), so
     * reports and expected-failure entries can name it.
     */
    static List<WastCommand> fixMissingLines(List<WastCommand> commands, Path source) {
        if (commands.stream().noneMatch(c -> c.line() <= 0) || source == null || !Files.isRegularFile(source)) {
            return commands;
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(source, StandardCharsets.UTF_8);
        } catch (IOException | UncheckedIOException e) {
            return commands;
        }
        List<WastCommand> out = new ArrayList<>(commands.size());
        int previous = 0;
        for (WastCommand c : commands) {
            WastCommand fixed = c;
            if (c.line() <= 0) {
                int line = find(lines, previous, QUOTE_MODULE);
                if (line == 0) {
                    line = find(lines, previous, ANY_MODULE);
                }
                if (line > 0) {
                    fixed = new WastCommand(c.kind(), c.rawType(), line, c.filename(), c.name(), c.as(),
                            c.moduleType(), c.text(), c.action(), c.expected(), c.either());
                }
            }
            previous = Math.max(previous, fixed.line());
            out.add(fixed);
        }
        return out;
    }

    /** The first 1-based line after {@code after} matching {@code pattern}, or 0. */
    private static int find(List<String> lines, int after, Pattern pattern) {
        for (int i = after; i < lines.size(); i++) {
            if (pattern.matcher(lines.get(i)).find()) {
                return i + 1;
            }
        }
        return 0;
    }

    static WastCommand parseCommand(JsonNode c) {
        String type = c.path("type").asText();
        return new WastCommand(
                CommandKind.fromJson(type),
                type,
                c.path("line").asInt(0),
                text(c, "filename"),
                text(c, "name"),
                text(c, "as"),
                text(c, "module_type"),
                text(c, "text"),
                c.has("action") ? parseAction(c.get("action")) : null,
                parseValues(c.get("expected")),
                parseValues(c.get("either")));
    }

    static WastAction parseAction(JsonNode a) {
        return new WastAction(
                a.path("type").asText(),
                text(a, "module"),
                a.path("field").asText(),
                parseValues(a.get("args")));
    }

    static List<WastValue> parseValues(JsonNode array) {
        List<WastValue> out = new ArrayList<>();
        if (array == null || !array.isArray()) {
            return out;
        }
        for (JsonNode v : array) {
            out.add(parseValue(v));
        }
        return out;
    }

    static WastValue parseValue(JsonNode v) {
        List<String> values = new ArrayList<>();
        JsonNode value = v.get("value");
        if (value != null && !value.isNull()) {
            if (value.isArray()) {
                value.forEach(x -> values.add(x.asText()));
            } else {
                values.add(value.asText());
            }
        }
        return new WastValue(v.path("type").asText(), text(v, "lane_type"), values);
    }

    private static String text(JsonNode node, String field) {
        JsonNode n = node.get(field);
        return n == null || n.isNull() ? null : n.asText();
    }
}
