package io.asyncify4j.wasm.model;

import io.asyncify4j.wasm.ir.Instruction;
import java.util.ArrayList;
import java.util.List;

/**
 * A function defined by the module: its type index, declared locals (params excluded, one entry per
 * local) and structured body. Body and locals are mutable so transforms can rewrite in place.
 */
public final class Function {
    private int typeIndex;
    private final List<ValType> locals;
    private final List<Instruction> body;

    public Function(int typeIndex, List<ValType> locals, List<Instruction> body) {
        this.typeIndex = typeIndex;
        this.locals = new ArrayList<>(locals);
        this.body = new ArrayList<>(body);
    }

    public int typeIndex() {
        return typeIndex;
    }

    public void setTypeIndex(int typeIndex) {
        this.typeIndex = typeIndex;
    }

    /** Declared locals, not counting params. */
    public List<ValType> locals() {
        return locals;
    }

    public List<Instruction> body() {
        return body;
    }

    /** Appends a local of {@code type} and returns its index, given the function's param count. */
    public int addLocal(int paramCount, ValType type) {
        locals.add(type);
        return paramCount + locals.size() - 1;
    }
}
