package io.asyncify4j.asyncify;

import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.model.Export;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.HeapType;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Global;
import io.asyncify4j.wasm.model.GlobalType;
import io.asyncify4j.wasm.model.Limits;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.Table;
import io.asyncify4j.wasm.model.TableType;
import io.asyncify4j.wasm.model.ValType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.asyncify4j.asyncify.Emit.globalGet;
import static io.asyncify4j.asyncify.Emit.globalSet;
import static io.asyncify4j.asyncify.Emit.i32;
import static io.asyncify4j.asyncify.Emit.op;

/**
 * Saves reference-typed locals, which linear memory cannot hold, into tables the transform adds:
 * one per reference hierarchy (func, extern, any, exn), used as a stack whose top is a global. A frame
 * stores the slot index in place of the reference. Frames are popped in the reverse order they were
 * pushed, so the slots are too.
 */
final class RefStore {
    private record Stack(int table, int top) {}

    private final ModuleModel m;
    private final Map<Long, Stack> stacks = new HashMap<>();

    RefStore(ModuleModel m) {
        this.m = m;
    }

    private long top(ValType t) {
        boolean concreteIsFunction = t.heapType() >= 0 && m.type((int) t.heapType()).composite() instanceof FuncType;
        return Emit.topHeapType(t.heapType(), concreteIsFunction);
    }

    private Stack stack(ValType t) {
        return stacks.computeIfAbsent(top(t), top -> {
            int table = m.importCount(ExternalKind.TABLE) + m.tables().size();
            m.tables().add(new Table(new TableType(ValType.ref(true, top), new Limits(0, -1, false, false)), null));
            int global = m.importCount(ExternalKind.GLOBAL) + m.globals().size();
            m.globals().add(new Global(new GlobalType(ValType.I32, true), List.of(i32(0))));
            // Exported so a host can move a suspended call's references out and back (coroutines).
            String hierarchy = HeapType.toString(top);
            m.exports().add(new Export(AsyncifyAbi.REF_TABLE_EXPORT_PREFIX + hierarchy, ExternalKind.TABLE, table));
            m.exports().add(new Export(AsyncifyAbi.REF_TOP_EXPORT_PREFIX + hierarchy, ExternalKind.GLOBAL, global));
            return new Stack(table, global);
        });
    }

    /**
     * Stores the reference in local {@code local} in the next free slot and writes the slot index to
     * the frame at {@code frameLocal + offset} in memory {@code memory}.
     */
    List<Instruction> save(ValType declared, int local, int frameLocal, int offset, int memory) {
        Stack s = stack(declared);
        long top = top(declared);
        List<Instruction> out = new ArrayList<>();
        // Grow the table when full.
        out.add(globalGet(s.top()));
        out.add(op(Opcode.TABLE_SIZE, s.table()));
        out.add(op(Opcode.I32_GE_U));
        out.add(Emit.ifThen(List.of(op(Opcode.REF_NULL, top), i32(16), op(Opcode.TABLE_GROW, s.table()),
                op(Opcode.DROP))));
        out.add(globalGet(s.top()));
        out.add(Emit.localGet(local));
        out.add(op(Opcode.TABLE_SET, s.table()));
        out.add(Emit.localGet(frameLocal));
        out.add(globalGet(s.top()));
        out.add(Emit.store(ValType.I32, memory, offset));
        out.add(globalGet(s.top()));
        out.add(i32(1));
        out.add(op(Opcode.I32_ADD));
        out.add(globalSet(s.top()));
        return out;
    }

    /** With a slot index on the stack, leaves the reference (cast back to {@code declared}) and frees the slot. */
    List<Instruction> restore(ValType declared) {
        Stack s = stack(declared);
        long top = top(declared);
        List<Instruction> out = new ArrayList<>();
        out.add(op(Opcode.TABLE_GET, s.table()));
        if (declared.heapType() != top) {
            out.add(op(Opcode.REF_CAST_NULL, declared.heapType()));
        }
        // The slot is released by moving the top down; frames are restored in LIFO order.
        out.add(globalGet(s.top()));
        out.add(i32(1));
        out.add(op(Opcode.I32_SUB));
        out.add(globalSet(s.top()));
        return out;
    }
}
