package io.asyncify4j.wasm.model;

import io.asyncify4j.wasm.ir.Instruction;
import java.util.List;

/** A table defined by the module; {@code init} is the initializer expression, or null when absent. */
public record Table(TableType type, List<Instruction> init) {
    public Table {
        init = init == null ? null : List.copyOf(init);
    }
}
