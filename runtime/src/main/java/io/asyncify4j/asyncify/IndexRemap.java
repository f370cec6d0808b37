package io.asyncify4j.asyncify;

import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import io.asyncify4j.wasm.model.DataSegment;
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
import java.util.function.UnaryOperator;

/**
 * Renumbers references to function or global indices everywhere in a module (after imports change).
 * Instructions whose index does not change are kept as they are (side tables key instructions by
 * identity).
 */
final class IndexRemap {
    private IndexRemap() {}

    /** Applies {@code map} to every function index: code, constant expressions, elements, exports, start, names. */
    static void functions(ModuleModel m, IntUnaryOperator map) {
        rewriteAllCode(m, s -> (s.opcode() == Opcode.CALL || s.opcode() == Opcode.RETURN_CALL
                || s.opcode() == Opcode.REF_FUNC) && map.applyAsInt(s.index()) != s.index()
                ? SimpleInstruction.of(s.opcode(), map.applyAsInt(s.index())) : s);
        for (int i = 0; i < m.elements().size(); i++) {
            ElementSegment e = m.elements().get(i);
            if (e.functionIndices() != null) {
                m.elements().set(i, new ElementSegment(e.mode(), e.tableIndex(), e.offset(), e.type(),
                        e.functionIndices().stream().map(map::applyAsInt).toList(), null, e.explicitTable()));
            }
        }
        remapExports(m, ExternalKind.FUNCTION, map);
        if (m.startFunction() >= 0) {
            m.setStartFunction(map.applyAsInt(m.startFunction()));
        }
        NameSection names = m.names();
        if (names != null) {
            remapKeys(names.functionNames(), map);
            remapKeys(names.localNames(), map);
        }
    }

    /** Applies {@code map} to every global index: code, constant expressions, exports, names. */
    static void globals(ModuleModel m, IntUnaryOperator map) {
        rewriteAllCode(m, s -> (s.opcode() == Opcode.GLOBAL_GET || s.opcode() == Opcode.GLOBAL_SET)
                && map.applyAsInt(s.index()) != s.index()
                ? SimpleInstruction.of(s.opcode(), map.applyAsInt(s.index())) : s);
        remapExports(m, ExternalKind.GLOBAL, map);
        if (m.names() != null) {
            remapKeys(m.names().globalNames(), map);
        }
    }

    private static <V> void remapKeys(Map<Integer, V> byIndex, IntUnaryOperator map) {
        Map<Integer, V> moved = new TreeMap<>();
        byIndex.forEach((k, v) -> {
            int to = map.applyAsInt(k);
            if (to >= 0) {
                moved.put(to, v);
            }
        });
        byIndex.clear();
        byIndex.putAll(moved);
    }

    private static void remapExports(ModuleModel m, ExternalKind kind, IntUnaryOperator map) {
        for (int i = 0; i < m.exports().size(); i++) {
            Export e = m.exports().get(i);
            if (e.kind() == kind) {
                m.exports().set(i, new Export(e.name(), e.kind(), map.applyAsInt(e.index())));
            }
        }
    }

    /** Rewrites every simple instruction of function bodies and constant expressions. */
    private static void rewriteAllCode(ModuleModel m, UnaryOperator<SimpleInstruction> rewrite) {
        for (Function f : m.functions()) {
            InstructionWalker.rewriteSimple(f.body(), rewrite);
        }
        for (int i = 0; i < m.globals().size(); i++) {
            Global g = m.globals().get(i);
            m.globals().set(i, new Global(g.type(), rewritten(g.init(), rewrite)));
        }
        for (int i = 0; i < m.tables().size(); i++) {
            Table t = m.tables().get(i);
            if (t.init() != null) {
                m.tables().set(i, new Table(t.type(), rewritten(t.init(), rewrite)));
            }
        }
        for (int i = 0; i < m.elements().size(); i++) {
            ElementSegment e = m.elements().get(i);
            m.elements().set(i, new ElementSegment(e.mode(), e.tableIndex(),
                    e.offset() == null ? null : rewritten(e.offset(), rewrite), e.type(), e.functionIndices(),
                    e.expressions() == null ? null : e.expressions().stream().map(x -> rewritten(x, rewrite)).toList(),
                    e.explicitTable()));
        }
        for (int i = 0; i < m.data().size(); i++) {
            DataSegment d = m.data().get(i);
            if (d.offset() != null) {
                m.data().set(i, new DataSegment(d.mode(), d.memoryIndex(), rewritten(d.offset(), rewrite), d.bytes()));
            }
        }
    }

    private static List<Instruction> rewritten(List<Instruction> body, UnaryOperator<SimpleInstruction> rewrite) {
        List<Instruction> copy = new ArrayList<>(body);
        InstructionWalker.rewriteSimple(copy, rewrite);
        return copy;
    }

}
