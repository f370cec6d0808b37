package io.asyncify4j.cli;

import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;
import java.util.List;
import picocli.CommandLine;

/** Command-line literals to wasm argument values, for {@code --invoke}. */
final class ShellArgs {
    private ShellArgs() {}

    static long[] parse(CommandLine.Model.CommandSpec spec, String invoke, FunctionType type, List<String> args) {
        return parse(spec, invoke, type.params().stream().map(InfoCommand::typeName).toList(), args);
    }

    /** {@code params}: the parameter types as wasm text names them ({@code i32}, {@code f64}...). */
    static long[] parse(CommandLine.Model.CommandSpec spec, String invoke, List<String> params, List<String> args) {
        if (params.size() != args.size()) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "'" + invoke + "' takes " + params.size() + " argument(s), got " + args.size());
        }
        long[] out = new long[params.size()];
        for (int i = 0; i < params.size(); i++) {
            String t = params.get(i);
            String a = args.get(i);
            try {
                out[i] = switch (t) {
                    case "i32" -> Integer.parseInt(a);
                    case "i64" -> Long.parseLong(a);
                    case "f32" -> Float.floatToRawIntBits(Float.parseFloat(a));
                    case "f64" -> Double.doubleToRawLongBits(Double.parseDouble(a));
                    default -> throw new CommandLine.ParameterException(spec.commandLine(),
                            "cannot pass a " + t + " argument from the command line");
                };
            } catch (NumberFormatException e) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "argument " + (i + 1) + " '" + a + "' is not a valid " + t);
            }
        }
        return out;
    }
}
