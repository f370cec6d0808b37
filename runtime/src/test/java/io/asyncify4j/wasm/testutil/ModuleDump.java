package io.asyncify4j.wasm.testutil;

import io.asyncify4j.wasm.ir.BlockType;
import io.asyncify4j.wasm.ir.Catch;
import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import io.asyncify4j.wasm.ir.TryTableInstruction;
import io.asyncify4j.wasm.model.ArrayType;
import io.asyncify4j.wasm.model.CompositeType;
import io.asyncify4j.wasm.model.CustomSection;
import io.asyncify4j.wasm.model.DataSegment;
import io.asyncify4j.wasm.model.ElementSegment;
import io.asyncify4j.wasm.model.Export;
import io.asyncify4j.wasm.model.FieldType;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Function;
import io.asyncify4j.wasm.model.Global;
import io.asyncify4j.wasm.model.Import;
import io.asyncify4j.wasm.model.Limits;
import io.asyncify4j.wasm.model.MemoryType;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.NameSection;
import io.asyncify4j.wasm.model.RecGroup;
import io.asyncify4j.wasm.model.StructType;
import io.asyncify4j.wasm.model.SubType;
import io.asyncify4j.wasm.model.Table;
import io.asyncify4j.wasm.model.TableType;
import io.asyncify4j.wasm.model.Tag;
import io.asyncify4j.wasm.model.ValType;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * A canonical, injective text rendering of a {@link ModuleModel}: two models are structurally equal
 * exactly when their dumps are equal. Used as the structural-equality helper of the codec tests (a
 * string comparison also gives a readable diff on failure).
 */
public final class ModuleDump {
    private final StringBuilder sb = new StringBuilder();

    private ModuleDump() {}

    public static String of(ModuleModel m) {
        ModuleDump d = new ModuleDump();
        d.module(m);
        return d.sb.toString();
    }

    /** Dump of one instruction sequence (function body or constant expression). */
    public static String of(List<Instruction> body) {
        ModuleDump d = new ModuleDump();
        d.instructions(body, 0);
        return d.sb.toString();
    }

    /** Structural equality of two instruction sequences. */
    public static boolean sameInstructions(List<Instruction> a, List<Instruction> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (!sameInstruction(a.get(i), b.get(i))) {
                return false;
            }
        }
        return true;
    }

    public static boolean sameInstruction(Instruction a, Instruction b) {
        if (a.opcode() != b.opcode()) {
            return false;
        }
        if (a instanceof SimpleInstruction sa) {
            return b instanceof SimpleInstruction sb && sa.sameAs(sb);
        }
        if (!(b instanceof StructuredInstruction sb2)) {
            return false;
        }
        StructuredInstruction sa = (StructuredInstruction) a;
        if (!sa.blockType().equals(sb2.blockType()) || !sameInstructions(sa.body(), sb2.body())) {
            return false;
        }
        if (sa instanceof IfInstruction ia) {
            return sameInstructions(ia.elseBody(), ((IfInstruction) sb2).elseBody());
        }
        if (sa instanceof TryTableInstruction ta) {
            return ta.catches().equals(((TryTableInstruction) sb2).catches());
        }
        return true;
    }

    private void line(int indent, String s) {
        sb.append("  ".repeat(indent)).append(s).append('\n');
    }

    public static String type(ValType t) {
        if (t == null) {
            return "null";
        }
        if (t.kind() == ValType.Kind.REF) {
            return "(ref" + (t.nullable() ? " null " : " ") + t.heapType() + ")";
        }
        // Non-reference types carry no heap type; print the raw fields anyway so nothing is hidden.
        return t.kind().name().toLowerCase() + (t.nullable() || t.heapType() != 0 ? "/" + t.nullable() + "/" + t.heapType() : "");
    }

    private static String types(List<ValType> ts) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < ts.size(); i++) {
            b.append(i == 0 ? "" : " ").append(type(ts.get(i)));
        }
        return b.append(']').toString();
    }

    private static String limits(Limits l) {
        return "min=" + l.min() + " max=" + l.max() + " shared=" + l.shared() + " a64=" + l.address64();
    }

    private static String tableType(TableType t) {
        return type(t.elementType()) + " " + limits(t.limits());
    }

    private static String hex(byte[] b) {
        return b == null ? "null" : b.length + ":" + HexFormat.of().formatHex(b);
    }

    private static String composite(CompositeType c) {
        if (c instanceof FuncType f) {
            return "func " + types(f.params()) + " -> " + types(f.results());
        }
        if (c instanceof StructType s) {
            StringBuilder b = new StringBuilder("struct");
            for (FieldType f : s.fields()) {
                b.append(" (field ").append(f.mutable() ? "mut " : "").append(type(f.storage())).append(')');
            }
            return b.toString();
        }
        ArrayType a = (ArrayType) c;
        return "array (" + (a.element().mutable() ? "mut " : "") + type(a.element().storage()) + ")";
    }

    private void module(ModuleModel m) {
        line(0, "types:");
        for (RecGroup g : m.recGroups()) {
            line(1, "rec explicit=" + g.explicit() + " size=" + g.types().size());
            for (SubType t : g.types()) {
                line(2, "sub final=" + t.isFinal() + " supers=" + t.supertypes() + " " + composite(t.composite()));
            }
        }
        line(0, "imports:");
        for (Import i : m.imports()) {
            String desc;
            switch (i.kind()) {
                case FUNCTION: case TAG: desc = "type " + i.typeIndex(); break;
                case TABLE: desc = tableType(i.table()); break;
                case MEMORY: desc = limits(i.memory().limits()); break;
                default: desc = type(i.global().type()) + " mut=" + i.global().mutable();
            }
            line(1, i.kind() + " " + quote(i.module()) + " " + quote(i.name()) + " " + desc
                    + " [" + i.typeIndex() + "," + (i.table() != null) + "," + (i.memory() != null) + ","
                    + (i.global() != null) + "]");
        }
        line(0, "functions:");
        int n = 0;
        for (Function f : m.functions()) {
            line(1, "func #" + n++ + " type=" + f.typeIndex() + " locals=" + types(f.locals()));
            instructions(f.body(), 2);
        }
        line(0, "tables:");
        for (Table t : m.tables()) {
            line(1, "table " + tableType(t.type()) + (t.init() == null ? " no-init" : " init:"));
            if (t.init() != null) {
                instructions(t.init(), 2);
            }
        }
        line(0, "memories:");
        for (MemoryType mem : m.memories()) {
            line(1, "memory " + limits(mem.limits()));
        }
        line(0, "tags:");
        for (Tag t : m.tags()) {
            line(1, "tag type=" + t.typeIndex());
        }
        line(0, "globals:");
        for (Global g : m.globals()) {
            line(1, "global " + type(g.type().type()) + " mut=" + g.type().mutable());
            instructions(g.init(), 2);
        }
        line(0, "exports:");
        for (Export e : m.exports()) {
            line(1, "export " + quote(e.name()) + " " + e.kind() + " " + e.index());
        }
        line(0, "start: " + m.startFunction());
        line(0, "elements:");
        for (ElementSegment e : m.elements()) {
            line(1, "elem " + e.mode() + " table=" + e.tableIndex() + " type=" + type(e.type())
                    + " explicitTable=" + e.explicitTable());
            if (e.offset() != null) {
                line(2, "offset:");
                instructions(e.offset(), 3);
            }
            if (e.functionIndices() != null) {
                line(2, "funcs " + e.functionIndices());
            }
            if (e.expressions() != null) {
                for (List<Instruction> x : e.expressions()) {
                    line(2, "expr:");
                    instructions(x, 3);
                }
            }
        }
        line(0, "datacount: " + m.hasDataCount());
        line(0, "data:");
        for (DataSegment d : m.data()) {
            line(1, "data " + d.mode() + " memory=" + d.memoryIndex() + " bytes=" + hex(d.bytes()));
            if (d.offset() != null) {
                line(2, "offset:");
                instructions(d.offset(), 3);
            }
        }
        line(0, "customs:");
        for (CustomSection c : m.customSections()) {
            line(1, "custom " + quote(c.name()) + " after=" + c.afterSection() + " " + hex(c.content()));
        }
        NameSection names = m.names();
        if (names == null) {
            line(0, "names: none");
        } else {
            line(0, "names: after=" + names.afterSection() + " module=" + (names.moduleName() == null ? "null"
                    : quote(names.moduleName())));
            for (Map.Entry<Integer, String> e : names.functionNames().entrySet()) {
                line(1, "func " + e.getKey() + " " + quote(e.getValue()));
            }
            for (Map.Entry<Integer, Map<Integer, String>> e : names.localNames().entrySet()) {
                line(1, "locals of " + e.getKey());
                for (Map.Entry<Integer, String> l : e.getValue().entrySet()) {
                    line(2, "local " + l.getKey() + " " + quote(l.getValue()));
                }
            }
            for (NameSection.RawSubsection r : names.otherSubsections()) {
                line(1, "subsection " + r.id() + " " + hex(r.content()));
            }
        }
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.codePoints().forEach(cp -> {
            if (cp >= 0x20 && cp < 0x7F && cp != '"' && cp != '\\') {
                b.append((char) cp);
            } else {
                b.append("\\u{").append(Integer.toHexString(cp)).append('}');
            }
        });
        return b.append('"').toString();
    }

    private static String blockType(BlockType bt) {
        return "bt(" + type(bt.result()) + "," + bt.typeIndex() + ")";
    }

    private void instructions(List<Instruction> body, int indent) {
        for (Instruction in : body) {
            if (in instanceof SimpleInstruction s) {
                StringBuilder b = new StringBuilder(s.opcode().name());
                for (long v : s.immediates()) {
                    b.append(' ').append(v);
                }
                if (!s.types().isEmpty()) {
                    b.append(" types=").append(types(s.types()));
                }
                line(indent, b.toString());
            } else {
                StructuredInstruction st = (StructuredInstruction) in;
                StringBuilder b = new StringBuilder(st.opcode().name()).append(' ').append(blockType(st.blockType()));
                if (st instanceof TryTableInstruction t) {
                    for (Catch c : t.catches()) {
                        b.append(" (").append(c.kind()).append(' ').append(c.tag()).append(' ').append(c.label()).append(')');
                    }
                }
                line(indent, b.append(" {").toString());
                instructions(st.body(), indent + 1);
                if (st instanceof IfInstruction i) {
                    line(indent, "} else {");
                    instructions(i.elseBody(), indent + 1);
                }
                line(indent, "}");
            }
        }
    }
}
