package io.asyncify4j.wasm.codec;

import io.asyncify4j.wasm.binary.BinaryWriter;
import io.asyncify4j.wasm.ir.Instruction;
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
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.NameSection;
import io.asyncify4j.wasm.model.RecGroup;
import io.asyncify4j.wasm.model.SegmentMode;
import io.asyncify4j.wasm.model.StructType;
import io.asyncify4j.wasm.model.SubType;
import io.asyncify4j.wasm.model.Table;
import io.asyncify4j.wasm.model.TableType;
import io.asyncify4j.wasm.model.Tag;
import io.asyncify4j.wasm.model.ValType;
import java.util.List;
import java.util.Map;

/** Encodes a {@link ModuleModel} as a wasm binary, sections in canonical order, customs where they were. */
public final class ModuleEncoder {
    private final ModuleModel m;
    private final BinaryWriter out = new BinaryWriter();

    private ModuleEncoder(ModuleModel m) {
        this.m = m;
    }

    public static byte[] encode(ModuleModel module) {
        return new ModuleEncoder(module).run();
    }

    private byte[] run() {
        for (int b : ModuleDecoder.MAGIC) {
            out.u8(b);
        }
        for (int b : ModuleDecoder.VERSION) {
            out.u8(b);
        }
        writeCustomsAfter(0);
        for (int id : ModuleDecoder.SECTION_ORDER) {
            BinaryWriter s = new BinaryWriter();
            if (writeSection(id, s)) {
                out.u8(id);
                out.sized(s);
            }
            writeCustomsAfter(id);
        }
        return out.toByteArray();
    }

    private void writeCustomsAfter(int id) {
        for (CustomSection c : m.customSections()) {
            if (c.afterSection() == id) {
                BinaryWriter s = new BinaryWriter();
                s.name(c.name());
                s.bytes(c.content());
                out.u8(0);
                out.sized(s);
            }
        }
        NameSection names = m.names();
        if (names != null && names.afterSection() == id) {
            BinaryWriter s = new BinaryWriter();
            s.name("name");
            writeNames(s, names);
            out.u8(0);
            out.sized(s);
        }
    }

    /** Writes the content of section {@code id} into {@code s}; false when the section is omitted. */
    private boolean writeSection(int id, BinaryWriter s) {
        switch (id) {
            case 1:
                return vec(s, m.recGroups(), this::writeRecGroup);
            case 2:
                return vec(s, m.imports(), this::writeImport);
            case 3:
                return vec(s, m.functions(), (w, f) -> w.u32(f.typeIndex()));
            case 4:
                return vec(s, m.tables(), this::writeTable);
            case 5:
                return vec(s, m.memories(), (w, mem) -> TypeCodec.writeLimits(w, mem.limits()));
            case 13:
                return vec(s, m.tags(), (w, t) -> w.u8(0).u32(t.typeIndex()));
            case 6:
                return vec(s, m.globals(), this::writeGlobal);
            case 7:
                return vec(s, m.exports(), (w, e) -> w.name(e.name()).u8(e.kind().code).u32(e.index()));
            case 8:
                if (m.startFunction() < 0) {
                    return false;
                }
                s.u32(m.startFunction());
                return true;
            case 9:
                return vec(s, m.elements(), this::writeElement);
            case 12:
                if (!m.hasDataCount()) {
                    return false;
                }
                s.u32(m.data().size());
                return true;
            case 10:
                return vec(s, m.functions(), this::writeBody);
            case 11:
                return vec(s, m.data(), this::writeData);
            default:
                throw new IllegalStateException("section " + id);
        }
    }

    private interface ItemWriter<T> {
        void write(BinaryWriter w, T item);
    }

    private static <T> boolean vec(BinaryWriter s, List<T> items, ItemWriter<T> writer) {
        if (items.isEmpty()) {
            return false;
        }
        s.u32(items.size());
        for (T item : items) {
            writer.write(s, item);
        }
        return true;
    }

    private void writeRecGroup(BinaryWriter w, RecGroup g) {
        if (g.explicit() || g.types().size() != 1) {
            w.u8(0x4E).u32(g.types().size());
        }
        for (SubType t : g.types()) {
            if (!t.isFinal() || !t.supertypes().isEmpty()) {
                w.u8(t.isFinal() ? 0x4F : 0x50).u32(t.supertypes().size());
                for (int sup : t.supertypes()) {
                    w.u32(sup);
                }
            }
            writeComposite(w, t.composite());
        }
    }

    private static void writeComposite(BinaryWriter w, CompositeType c) {
        if (c instanceof FuncType f) {
            w.u8(0x60);
            writeValTypes(w, f.params());
            writeValTypes(w, f.results());
        } else if (c instanceof StructType st) {
            w.u8(0x5F).u32(st.fields().size());
            for (FieldType f : st.fields()) {
                writeField(w, f);
            }
        } else if (c instanceof ArrayType a) {
            w.u8(0x5E);
            writeField(w, a.element());
        }
    }

    private static void writeField(BinaryWriter w, FieldType f) {
        TypeCodec.writeValType(w, f.storage());
        w.u8(f.mutable() ? 1 : 0);
    }

    private static void writeValTypes(BinaryWriter w, List<ValType> types) {
        w.u32(types.size());
        for (ValType t : types) {
            TypeCodec.writeValType(w, t);
        }
    }

    private static void writeTableType(BinaryWriter w, TableType t) {
        TypeCodec.writeValType(w, t.elementType());
        TypeCodec.writeLimits(w, t.limits());
    }

    private void writeImport(BinaryWriter w, Import i) {
        w.name(i.module()).name(i.name()).u8(i.kind().code);
        switch (i.kind()) {
            case FUNCTION: w.u32(i.typeIndex()); break;
            case TABLE: writeTableType(w, i.table()); break;
            case MEMORY: TypeCodec.writeLimits(w, i.memory().limits()); break;
            case GLOBAL:
                TypeCodec.writeValType(w, i.global().type());
                w.u8(i.global().mutable() ? 1 : 0);
                break;
            case TAG: w.u8(0).u32(i.typeIndex()); break;
            default: throw new IllegalStateException(i.kind().toString());
        }
    }

    private void writeTable(BinaryWriter w, Table t) {
        if (t.init() != null) {
            w.u8(0x40).u8(0);
            writeTableType(w, t.type());
            InstructionCodec.writeExpression(w, t.init());
        } else {
            writeTableType(w, t.type());
        }
    }

    private void writeGlobal(BinaryWriter w, Global g) {
        TypeCodec.writeValType(w, g.type().type());
        w.u8(g.type().mutable() ? 1 : 0);
        InstructionCodec.writeExpression(w, g.init());
    }

    private void writeElement(BinaryWriter w, ElementSegment e) {
        boolean exprs = e.expressions() != null;
        // Flags: bit 0 passive/declarative, bit 1 explicit table (or declarative), bit 2 expressions.
        boolean explicit = e.mode() == SegmentMode.ACTIVE
                && (e.explicitTable() || e.tableIndex() != 0 || !e.type().equals(ValType.FUNCREF));
        int flags = (exprs ? 4 : 0);
        switch (e.mode()) {
            case ACTIVE: flags |= explicit ? 2 : 0; break;
            case PASSIVE: flags |= 1; break;
            case DECLARATIVE: flags |= 3; break;
            default: throw new IllegalStateException();
        }
        w.u32(flags);
        if (e.mode() == SegmentMode.ACTIVE) {
            if (explicit) {
                w.u32(e.tableIndex());
            }
            InstructionCodec.writeExpression(w, e.offset());
        }
        if (e.mode() != SegmentMode.ACTIVE || explicit) {
            if (exprs) {
                TypeCodec.writeValType(w, e.type());
            } else {
                w.u8(0); // elemkind funcref
            }
        }
        if (exprs) {
            w.u32(e.expressions().size());
            for (List<Instruction> x : e.expressions()) {
                InstructionCodec.writeExpression(w, x);
            }
        } else {
            w.u32(e.functionIndices().size());
            for (int f : e.functionIndices()) {
                w.u32(f);
            }
        }
    }

    private void writeBody(BinaryWriter w, Function f) {
        BinaryWriter body = new BinaryWriter();
        // Run-length encode the locals.
        List<ValType> locals = f.locals();
        int groups = 0;
        for (int i = 0; i < locals.size(); i++) {
            if (i == 0 || !locals.get(i).equals(locals.get(i - 1))) {
                groups++;
            }
        }
        body.u32(groups);
        int i = 0;
        while (i < locals.size()) {
            int j = i;
            while (j < locals.size() && locals.get(j).equals(locals.get(i))) {
                j++;
            }
            body.u32(j - i);
            TypeCodec.writeValType(body, locals.get(i));
            i = j;
        }
        InstructionCodec.writeExpression(body, f.body());
        w.sized(body);
    }

    private void writeData(BinaryWriter w, DataSegment d) {
        if (d.mode() == SegmentMode.PASSIVE) {
            w.u32(1);
        } else if (d.memoryIndex() != 0) {
            w.u32(2).u32(d.memoryIndex());
            InstructionCodec.writeExpression(w, d.offset());
        } else {
            w.u32(0);
            InstructionCodec.writeExpression(w, d.offset());
        }
        w.u32(d.bytes().length);
        w.bytes(d.bytes());
    }

    private static void writeNames(BinaryWriter s, NameSection names) {
        if (names.moduleName() != null) {
            BinaryWriter sub = new BinaryWriter().name(names.moduleName());
            s.u8(0).sized(sub);
        }
        if (!names.functionNames().isEmpty()) {
            BinaryWriter sub = new BinaryWriter();
            writeNameMap(sub, names.functionNames());
            s.u8(1).sized(sub);
        }
        if (!names.localNames().isEmpty()) {
            BinaryWriter sub = new BinaryWriter();
            sub.u32(names.localNames().size());
            for (Map.Entry<Integer, Map<Integer, String>> e : names.localNames().entrySet()) {
                sub.u32(e.getKey());
                writeNameMap(sub, e.getValue());
            }
            s.u8(2).sized(sub);
        }
        // Subsections go in increasing id order: global names (7) among the raw ones.
        boolean globalsWritten = names.globalNames().isEmpty();
        for (NameSection.RawSubsection raw : names.otherSubsections()) {
            if (!globalsWritten && raw.id() > 7) {
                writeGlobalNames(s, names);
                globalsWritten = true;
            }
            s.u8(raw.id()).u32(raw.content().length).bytes(raw.content());
        }
        if (!globalsWritten) {
            writeGlobalNames(s, names);
        }
    }

    private static void writeGlobalNames(BinaryWriter s, NameSection names) {
        BinaryWriter sub = new BinaryWriter();
        writeNameMap(sub, names.globalNames());
        s.u8(7).sized(sub);
    }

    private static void writeNameMap(BinaryWriter w, Map<Integer, String> map) {
        w.u32(map.size());
        for (Map.Entry<Integer, String> e : map.entrySet()) {
            w.u32(e.getKey()).name(e.getValue());
        }
    }
}
