package io.asyncify4j.wasm.model;

import io.asyncify4j.wasm.ir.Instruction;
import java.util.List;

/** A global defined by the module, with its constant initializer expression. */
public record Global(GlobalType type, List<Instruction> init) {
    public Global {
        init = List.copyOf(init);
    }
}
