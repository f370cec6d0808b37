package io.asyncify4j.wasm.testutil;

import io.asyncify4j.wasm.ir.BlockInstruction;
import io.asyncify4j.wasm.ir.BlockType;
import io.asyncify4j.wasm.ir.Catch;
import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import io.asyncify4j.wasm.ir.TryTableInstruction;
import io.asyncify4j.wasm.model.Export;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Function;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.ValType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;

/** A small DSL for building IR and modules directly (for features wabt's text parser lacks). */
public final class Ir {
    private Ir() {}

    public static SimpleInstruction op(Opcode op, long... immediates) {
        return SimpleInstruction.of(op, immediates);
    }

    public static SimpleInstruction i32(int v) {
        return op(Opcode.I32_CONST, v);
    }

    public static SimpleInstruction i64(long v) {
        return op(Opcode.I64_CONST, v);
    }

    public static SimpleInstruction get(int local) {
        return op(Opcode.LOCAL_GET, local);
    }

    public static SimpleInstruction set(int local) {
        return op(Opcode.LOCAL_SET, local);
    }

    public static BlockInstruction block(BlockType bt, Instruction... body) {
        return BlockInstruction.block(bt, Arrays.asList(body));
    }

    public static BlockInstruction loop(BlockType bt, Instruction... body) {
        return BlockInstruction.loop(bt, Arrays.asList(body));
    }

    public static IfInstruction ifElse(BlockType bt, List<Instruction> then, List<Instruction> els) {
        return new IfInstruction(bt, then, els);
    }

    public static TryTableInstruction tryTable(BlockType bt, List<Catch> catches, Instruction... body) {
        return new TryTableInstruction(bt, catches, Arrays.asList(body));
    }

    public static List<Instruction> seq(Instruction... body) {
        return new ArrayList<>(Arrays.asList(body));
    }

    public static BlockType result(ValType t) {
        return BlockType.of(t);
    }

    public static List<ValType> types(ValType... ts) {
        return List.of(ts);
    }

    /** Adds a function (and its type) to {@code m}; returns its function index. */
    public static int func(ModuleModel m, List<ValType> params, List<ValType> results, List<ValType> locals,
                           Instruction... body) {
        int type = m.internFuncType(FuncType.of(params, results));
        m.functions().add(new Function(type, locals, Arrays.asList(body)));
        return m.functionCount() - 1;
    }

    public static void export(ModuleModel m, String name, int funcIndex) {
        m.exports().add(new Export(name, ExternalKind.FUNCTION, funcIndex));
    }

    /** All instructions of {@code body}, nested ones included, in pre-order. */
    public static List<Instruction> flatten(List<Instruction> body) {
        List<Instruction> out = new ArrayList<>();
        flatten(body, out);
        return out;
    }

    private static void flatten(List<Instruction> body, List<Instruction> out) {
        for (Instruction in : body) {
            out.add(in);
            if (in instanceof StructuredInstruction s) {
                flatten(s.body(), out);
                if (s instanceof IfInstruction i) {
                    flatten(i.elseBody(), out);
                }
            }
        }
    }

    /** The {@code nth} (0-based, pre-order) instruction with opcode {@code op} in {@code body}. */
    public static Instruction find(List<Instruction> body, Opcode op, int nth) {
        return findWhere(body, in -> in.opcode() == op, nth);
    }

    public static Instruction find(List<Instruction> body, Opcode op) {
        return find(body, op, 0);
    }

    public static Instruction findWhere(List<Instruction> body, Predicate<Instruction> p, int nth) {
        int seen = 0;
        for (Instruction in : flatten(body)) {
            if (p.test(in) && seen++ == nth) {
                return in;
            }
        }
        throw new AssertionError("no instruction #" + nth + " matching in " + ModuleDump.of(body));
    }

    public static List<Instruction> all(List<Instruction> body, Opcode op) {
        return flatten(body).stream().filter(in -> in.opcode() == op).toList();
    }
}
