package io.asyncify4j.cli;

import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;
import java.util.List;
import picocli.CommandLine;

/** Command-line literals to wasm argument values, for {@code --invoke}. */
final class ShellArgs {
    private ShellArgs() {}

    static long[] parse(CommandLine.Model.CommandSpec spec, String invoke, FunctionType type, List<String> args) {
        List<ValType> params = type.params();
        if (params.size() != args.size()) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "'" + invoke + "' takes " + params.size() + " argument(s), got " + args.size());
        }
        long[] out = new long[params.size()];
        for (int i = 0; i < params.size(); i++) {
            ValType t = params.get(i);
            String a = args.get(i);
            try {
                if (t.equals(ValType.I32)) {
                    out[i] = Integer.parseInt(a);
                } else if (t.equals(ValType.I64)) {
                    out[i] = Long.parseLong(a);
                } else if (t.equals(ValType.F32)) {
                    out[i] = Float.floatToRawIntBits(Float.parseFloat(a));
                } else if (t.equals(ValType.F64)) {
                    out[i] = Double.doubleToRawLongBits(Double.parseDouble(a));
                } else {
                    throw new CommandLine.ParameterException(spec.commandLine(),
                            "cannot pass a " + InfoCommand.typeName(t) + " argument from the command line");
                }
            } catch (NumberFormatException e) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "argument " + (i + 1) + " '" + a + "' is not a valid " + InfoCommand.typeName(t));
            }
        }
        return out;
    }

}
