package io.asyncify4j.samples;

import io.asyncify4j.engine.Engines;
import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import com.dylibso.chicory.wabt.Wat2Wasm;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;
import io.asyncify4j.asyncify.Asyncify;
import io.asyncify4j.asyncify.AsyncifyOptions;
import java.io.PrintStream;
import java.util.List;

/**
 * The Asyncify blog post's pure-wasm example: the module drives unwinding and rewinding itself through
 * the {@code asyncify.*} imports, which the transform wires to the functions it generates.
 * ({@code ./asyncify4j shell} on the same .wat does the same.)
 */
public final class PureWasmSample implements Sample {
    @Override
    public String name() {
        return "pure-wasm";
    }

    @Override
    public String description() {
        return "the Asyncify blog's pure-wasm example: main pauses itself; prints 1 2 3";
    }

    @Override
    public void run(PrintStream out) {
        byte[] wasm = Asyncify.transform(Wat2Wasm.parse(Samples.resource("pure-wasm-sleep.wat")), AsyncifyOptions.builder().pureWasm(true).build());
        HostFunction print = new HostFunction("spectest", "print", FunctionType.of(List.of(ValType.I32), List.of()),
                (inst, args) -> {
                    out.println((int) args[0] + " : i32");
                    return null;
                });
        // Instantiating runs the start function, which is the example's whole program.
        Engines.instantiate(Engines.parse(wasm), ImportValues.builder().addFunction(print).build());
    }
}
