package io.asyncify4j.asyncify;

import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import io.asyncify4j.wasm.model.ElementSegment;
import io.asyncify4j.wasm.model.Export;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.Function;
import io.asyncify4j.wasm.model.Global;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.NameSection;
import io.asyncify4j.wasm.model.Table;
import java.util.ArrayList;
import java.util.List;
import java.util.ListIterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntUnaryOperator;

/** Renumbers every reference to a function index in a module (after imports are added or removed). */
final class FunctionIndexRemap {
    private FunctionIndexRemap() {}

    static void apply(ModuleModel m, IntUnaryOperator map) {
        for (Function f : m.functions()) {
            remap(f.body(), map);
        }
        for (int i = 0; i < m.globals().size(); i++) {
            Global g = m.globals().get(i);
            m.globals().set(i, new Global(g.type(), remapped(g.init(), map)));
        }
        for (int i = 0; i < m.tables().size(); i++) {
            Table t = m.tables().get(i);
            if (t.init() != null) {
                m.tables().set(i, new Table(t.type(), remapped(t.init(), map)));
            }
        }
        for (int i = 0; i < m.elements().size(); i++) {
            ElementSegment e = m.elements().get(i);
            List<Integer> funcs = e.functionIndices() == null ? null
                    : e.functionIndices().stream().map(map::applyAsInt).toList();
            List<List<Instruction>> exprs = e.expressions() == null ? null
                    : e.expressions().stream().map(x -> remapped(x, map)).toList();
            m.elements().set(i, new ElementSegment(e.mode(), e.tableIndex(), e.offset(), e.type(), funcs, exprs,
                    e.explicitTable()));
        }
        for (int i = 0; i < m.exports().size(); i++) {
            Export e = m.exports().get(i);
            if (e.kind() == ExternalKind.FUNCTION) {
                m.exports().set(i, new Export(e.name(), e.kind(), map.applyAsInt(e.index())));
            }
        }
        if (m.startFunction() >= 0) {
            m.setStartFunction(map.applyAsInt(m.startFunction()));
        }
        NameSection names = m.names();
        if (names != null) {
            Map<Integer, String> fn = new TreeMap<>();
            names.functionNames().forEach((k, v) -> {
                int to = map.applyAsInt(k);
                if (to >= 0) {
                    fn.put(to, v);
                }
            });
            names.functionNames().clear();
            names.functionNames().putAll(fn);
            Map<Integer, Map<Integer, String>> ln = new TreeMap<>();
            names.localNames().forEach((k, v) -> {
                int to = map.applyAsInt(k);
                if (to >= 0) {
                    ln.put(to, v);
                }
            });
            names.localNames().clear();
            names.localNames().putAll(ln);
        }
    }

    private static List<Instruction> remapped(List<Instruction> body, IntUnaryOperator map) {
        List<Instruction> copy = new ArrayList<>(body);
        remap(copy, map);
        return copy;
    }

    private static void remap(List<Instruction> body, IntUnaryOperator map) {
        ListIterator<Instruction> it = body.listIterator();
        while (it.hasNext()) {
            Instruction in = it.next();
            if (in instanceof StructuredInstruction st) {
                remap(st.body(), map);
                if (st instanceof IfInstruction i) {
                    remap(i.elseBody(), map);
                }
            } else {
                Opcode op = in.opcode();
                if (op == Opcode.CALL || op == Opcode.RETURN_CALL || op == Opcode.REF_FUNC) {
                    SimpleInstruction s = (SimpleInstruction) in;
                    it.set(SimpleInstruction.of(op, map.applyAsInt(s.index())));
                }
            }
        }
    }
}
