package io.asyncify4j.spectest.wast;

import java.util.List;
import java.util.Objects;

/**
 * One command of a wast2json script.
 *
 * @param kind the command type
 * @param rawType the JSON {@code type} string (kept for unknown commands)
 * @param line the line of the command in the {@code .wast} source
 * @param filename the module file written by wast2json (module commands and module assertions)
 * @param name the {@code $name} of a module command, or of the module a {@code register} refers to
 * @param as the name a {@code register} command registers under
 * @param moduleType {@code binary} or {@code text} for module assertions
 * @param text the expected message of an assertion
 * @param action the action of action commands and action assertions
 * @param expected the expected results of {@code assert_return} (types only for traps)
 * @param either alternatives of a single result ({@code assert_return} of relaxed operations)
 */
public record WastCommand(
        CommandKind kind,
        String rawType,
        int line,
        String filename,
        String name,
        String as,
        String moduleType,
        String text,
        WastAction action,
        List<WastValue> expected,
        List<WastValue> either) {

    public WastCommand {
        Objects.requireNonNull(kind, "kind");
        expected = expected == null ? List.of() : List.copyOf(expected);
        either = either == null ? List.of() : List.copyOf(either);
    }

    /** Whether the module of this command is a text module wast2json left as {@code .wat}. */
    public boolean isTextModule() {
        return "text".equals(moduleType) || (filename != null && filename.endsWith(".wat"));
    }

    /** A short description for reports, e.g. {@code assert_return invoke "add"(i32:1, i32:2)}. */
    public String describe() {
        StringBuilder sb = new StringBuilder(rawType);
        if (action != null) {
            sb.append(' ').append(action);
        } else if (filename != null) {
            sb.append(' ').append(filename);
        }
        if (kind == CommandKind.MODULE && name != null) {
            sb.append(" as ").append(name);
        }
        if (kind == CommandKind.REGISTER) {
            sb.append(' ').append(name == null ? "(current module)" : name).append(" as \"").append(as).append('"');
        }
        return sb.toString();
    }
}
