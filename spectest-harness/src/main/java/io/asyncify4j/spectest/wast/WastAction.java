package io.asyncify4j.spectest.wast;

import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * An {@code invoke} or {@code get} action of a script.
 *
 * @param type {@code invoke} or {@code get}
 * @param module the {@code $name} of the module acted on, or {@code null} for the most recent one
 * @param field the export name
 * @param args the arguments of an {@code invoke} (empty for {@code get})
 */
public record WastAction(String type, String module, String field, List<WastValue> args) {

    public WastAction {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(field, "field");
        args = List.copyOf(args);
    }

    public boolean isInvoke() {
        return "invoke".equals(type);
    }

    public boolean isGet() {
        return "get".equals(type);
    }

    @Override
    public String toString() {
        String target = (module == null ? "" : module + ".") + '"' + field + '"';
        if (isGet()) {
            return "get " + target;
        }
        return type
                + " "
                + target
                + args.stream().map(WastValue::toString).collect(Collectors.joining(", ", "(", ")"));
    }
}
