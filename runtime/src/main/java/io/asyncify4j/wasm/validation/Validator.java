package io.asyncify4j.wasm.validation;

import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.model.ArrayType;
import io.asyncify4j.wasm.model.CompositeType;
import io.asyncify4j.wasm.model.DataSegment;
import io.asyncify4j.wasm.model.ElementSegment;
import io.asyncify4j.wasm.model.Export;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.FieldType;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Function;
import io.asyncify4j.wasm.model.Global;
import io.asyncify4j.wasm.model.Import;
import io.asyncify4j.wasm.model.Limits;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.SegmentMode;
import io.asyncify4j.wasm.model.StructType;
import io.asyncify4j.wasm.model.SubType;
import io.asyncify4j.wasm.model.Table;
import io.asyncify4j.wasm.model.TableType;
import io.asyncify4j.wasm.model.ValType;
import io.asyncify4j.wasm.typing.InvalidModuleException;
import io.asyncify4j.wasm.typing.StackTyper;
import io.asyncify4j.wasm.typing.Subtyping;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Engine-free validation of a decoded module, following the WebAssembly specification (2.0 plus the
 * proposals the codec reads: multi-memory, memory64, threads, tail calls, extended-const, exception
 * handling, function references and GC): every index in range (types, functions, tables, memories,
 * globals, elements, data, locals, labels, tags), operand-stack typing of every function body,
 * constant expressions, mutability of assigned globals, limits, export names, the start function.
 *
 * <p>Failures raise {@link InvalidModuleException} naming the problem and where it is (the function
 * index and instruction position for function bodies).
 */
public final class Validator {
    /** Largest page count of a 32-bit memory. */
    private static final long MAX_PAGES_32 = 65536;
    /** Largest page count of a 64-bit memory. */
    private static final long MAX_PAGES_64 = 1L << 48;

    private final ModuleModel m;
    private final Subtyping subtyping;
    private final int typeCount;
    private final int functionCount;
    private final int tableCount;
    private final int memoryCount;
    private final int globalCount;
    private final int importedGlobals;
    private final int tagCount;

    private Validator(ModuleModel m) {
        this.m = m;
        this.subtyping = new Subtyping(m);
        this.typeCount = m.typeCount();
        this.functionCount = m.functionCount();
        this.tableCount = m.importCount(ExternalKind.TABLE) + m.tables().size();
        this.memoryCount = m.importCount(ExternalKind.MEMORY) + m.memories().size();
        this.importedGlobals = m.importCount(ExternalKind.GLOBAL);
        this.globalCount = importedGlobals + m.globals().size();
        this.tagCount = m.importCount(ExternalKind.TAG) + m.tags().size();
    }

    /** Validates {@code module}; throws {@link InvalidModuleException} when it is not valid. */
    public static void validate(ModuleModel module) {
        new Validator(module).run();
    }

    /**
     * Decodes and validates a binary; throws {@link io.asyncify4j.wasm.binary.MalformedModuleException}
     * when it does not decode and {@link InvalidModuleException} when it does not validate.
     */
    public static ModuleModel validate(byte[] wasm) {
        ModuleModel module = WasmCodec.decode(wasm);
        validate(module);
        return module;
    }

    private static InvalidModuleException invalid(String message) {
        return new InvalidModuleException(message);
    }

    private void run() {
        types();
        for (int i = 0; i < m.imports().size(); i++) {
            importDesc(m.imports().get(i));
        }
        for (int i = 0; i < m.functions().size(); i++) {
            Function f = m.functions().get(i);
            int index = m.importedFunctionCount() + i;
            funcType(f.typeIndex(), "function " + index);
            for (ValType t : f.locals()) {
                valType(t, "function " + index + " locals");
            }
        }
        for (int i = 0; i < m.tags().size(); i++) {
            tagType(m.tags().get(i).typeIndex(), "tag " + (m.importCount(ExternalKind.TAG) + i));
        }
        for (int i = 0; i < m.memories().size(); i++) {
            memoryLimits(m.memories().get(i).limits(), "memory " + (m.importCount(ExternalKind.MEMORY) + i));
        }
        BitSet declared = declaredFunctions();
        StackTyper.Context context = new StackTyper.Context(subtyping, declared, m.hasDataCount());
        for (int i = 0; i < m.tables().size(); i++) {
            Table t = m.tables().get(i);
            String what = "table " + (m.importCount(ExternalKind.TABLE) + i);
            tableType(t.type(), what);
            if (t.init() != null) {
                constant(t.init(), t.type().elementType(), globalCount, context, what + " initializer");
            } else if (!t.type().elementType().nullable()) {
                throw invalid("type mismatch: " + what + " of non-nullable " + t.type().elementType()
                        + " needs an initializer");
            }
        }
        for (int i = 0; i < m.globals().size(); i++) {
            Global g = m.globals().get(i);
            String what = "global " + (importedGlobals + i);
            valType(g.type().type(), what);
            // Initializers may read imported globals and (GC) earlier ones.
            constant(g.init(), g.type().type(), importedGlobals + i, context, what + " initializer");
        }
        exports();
        start();
        for (int i = 0; i < m.elements().size(); i++) {
            element(m.elements().get(i), i, context);
        }
        for (int i = 0; i < m.data().size(); i++) {
            data(m.data().get(i), i, context);
        }
        for (int f = m.importedFunctionCount(); f < functionCount; f++) {
            StackTyper.check(m, f, context);
        }
    }

    // ---- types ----

    private void types() {
        List<SubType> all = m.types();
        for (int i = 0; i < all.size(); i++) {
            SubType s = all.get(i);
            String what = "type " + i;
            if (s.supertypes().size() > 1) {
                throw invalid("type " + i + " has more than one supertype");
            }
            for (int sup : s.supertypes()) {
                if (sup < 0 || sup >= i) {
                    throw invalid("unknown type " + sup + ": supertype of type " + i + " must be defined before it");
                }
                SubType st = all.get(sup);
                if (st.isFinal()) {
                    throw invalid("sub type " + i + " does not match final super type " + sup);
                }
                if (!st.composite().getClass().equals(s.composite().getClass())) {
                    throw invalid("sub type " + i + " does not match super type " + sup);
                }
            }
            CompositeType c = s.composite();
            if (c instanceof FuncType f) {
                for (ValType t : f.params()) {
                    valType(t, what);
                }
                for (ValType t : f.results()) {
                    valType(t, what);
                }
            } else if (c instanceof StructType st) {
                for (FieldType ft : st.fields()) {
                    valType(ft.storage(), what);
                }
            } else if (c instanceof ArrayType a) {
                valType(a.element().storage(), what);
            }
        }
    }

    private void valType(ValType t, String where) {
        if (t.kind() == ValType.Kind.REF && !subtyping.validHeapType(t.heapType())) {
            throw invalid("unknown type " + t.heapType() + " in " + where);
        }
        if (t.kind() == ValType.Kind.UNKNOWN) {
            throw invalid("invalid value type in " + where);
        }
    }

    private FuncType funcType(int typeIndex, String where) {
        if (typeIndex < 0 || typeIndex >= typeCount) {
            throw invalid("unknown type " + typeIndex + " in " + where);
        }
        if (!(m.type(typeIndex).composite() instanceof FuncType f)) {
            throw invalid("type " + typeIndex + " of " + where + " is not a function type");
        }
        return f;
    }

    private void tagType(int typeIndex, String where) {
        FuncType f = funcType(typeIndex, where);
        if (!f.results().isEmpty()) {
            throw invalid("non-empty tag result type in " + where);
        }
    }

    // ---- imports, tables, memories ----

    private void importDesc(Import imp) {
        String what = "import " + imp;
        switch (imp.kind()) {
            case FUNCTION: funcType(imp.typeIndex(), what); break;
            case TAG: tagType(imp.typeIndex(), what); break;
            case TABLE: tableType(imp.table(), what); break;
            case MEMORY: memoryLimits(imp.memory().limits(), what); break;
            case GLOBAL: valType(imp.global().type(), what); break;
            default: throw invalid("unknown import kind of " + what);
        }
    }

    private void tableType(TableType t, String where) {
        if (!t.elementType().isRef()) {
            throw invalid("malformed reference type of " + where);
        }
        valType(t.elementType(), where);
        Limits l = t.limits();
        long cap = t.limits().address64() ? -1L : 0xFFFF_FFFFL;
        if (l.min() < 0 && !l.address64() || (cap > 0 && l.min() > cap)) {
            throw invalid("table size must be at most 2^32-1 (" + where + ")");
        }
        if (l.hasMax() && Long.compareUnsigned(l.min(), l.max()) > 0) {
            throw invalid("size minimum must not be greater than maximum (" + where + ")");
        }
        if (l.shared()) {
            throw invalid("tables cannot be shared (" + where + ")");
        }
    }

    private void memoryLimits(Limits l, String where) {
        long cap = l.address64() ? MAX_PAGES_64 : MAX_PAGES_32;
        if (Long.compareUnsigned(l.min(), cap) > 0 || (l.hasMax() && Long.compareUnsigned(l.max(), cap) > 0)) {
            throw invalid("memory size must be at most " + cap + " pages (" + where + ")");
        }
        if (l.hasMax() && Long.compareUnsigned(l.min(), l.max()) > 0) {
            throw invalid("size minimum must not be greater than maximum (" + where + ")");
        }
        if (l.shared() && !l.hasMax()) {
            throw invalid("shared memory must have maximum (" + where + ")");
        }
    }

    // ---- constant expressions ----

    private static boolean isConstant(Opcode op) {
        switch (op) {
            case I32_CONST: case I64_CONST: case F32_CONST: case F64_CONST: case V128_CONST:
            case REF_NULL: case REF_FUNC: case GLOBAL_GET:
            case I32_ADD: case I32_SUB: case I32_MUL: case I64_ADD: case I64_SUB: case I64_MUL:
            case STRUCT_NEW: case STRUCT_NEW_DEFAULT: case ARRAY_NEW: case ARRAY_NEW_DEFAULT: case ARRAY_NEW_FIXED:
            case REF_I31: case ANY_CONVERT_EXTERN: case EXTERN_CONVERT_ANY:
                return true;
            default:
                return false;
        }
    }

    /**
     * Checks a constant expression: constant instructions only, global.get of an immutable global
     * below {@code globalLimit}, and a result of type {@code expected}.
     */
    private void constant(List<Instruction> expr, ValType expected, int globalLimit, StackTyper.Context context,
                          String where) {
        for (Instruction in : expr) {
            if (!(in instanceof SimpleInstruction s) || !isConstant(in.opcode())) {
                throw invalid("constant expression required: " + in.opcode().textName() + " in " + where);
            }
            if (s.opcode() == Opcode.GLOBAL_GET) {
                long g = s.immediate(0);
                if (g < 0 || g >= globalLimit) {
                    throw invalid("unknown global " + g + " in " + where);
                }
                if (m.globalType((int) g).mutable()) {
                    throw invalid("constant expression required: global.get of mutable global " + g + " in " + where);
                }
            }
        }
        StackTyper.checkExpression(m, expr, expected, context, where);
    }

    private BitSet declaredFunctions() {
        BitSet declared = new BitSet();
        for (ElementSegment e : m.elements()) {
            if (e.functionIndices() != null) {
                for (int f : e.functionIndices()) {
                    if (f >= 0) {
                        declared.set(f);
                    }
                }
            } else {
                for (List<Instruction> expr : e.expressions()) {
                    refFuncs(expr, declared);
                }
            }
            if (e.offset() != null) {
                refFuncs(e.offset(), declared);
            }
        }
        for (Export x : m.exports()) {
            if (x.kind() == ExternalKind.FUNCTION && x.index() >= 0) {
                declared.set(x.index());
            }
        }
        for (Global g : m.globals()) {
            refFuncs(g.init(), declared);
        }
        for (Table t : m.tables()) {
            if (t.init() != null) {
                refFuncs(t.init(), declared);
            }
        }
        for (DataSegment d : m.data()) {
            if (d.offset() != null) {
                refFuncs(d.offset(), declared);
            }
        }
        return declared;
    }

    private static void refFuncs(List<Instruction> expr, BitSet out) {
        for (Instruction in : expr) {
            if (in instanceof SimpleInstruction s && s.opcode() == Opcode.REF_FUNC && s.immediate(0) >= 0
                    && s.immediate(0) < Integer.MAX_VALUE) {
                out.set((int) s.immediate(0));
            }
        }
    }

    // ---- exports, start, segments ----

    private void exports() {
        Set<String> names = new HashSet<>();
        for (Export x : m.exports()) {
            if (!names.add(x.name())) {
                throw invalid("duplicate export name \"" + x.name() + "\"");
            }
            int limit;
            switch (x.kind()) {
                case FUNCTION: limit = functionCount; break;
                case TABLE: limit = tableCount; break;
                case MEMORY: limit = memoryCount; break;
                case GLOBAL: limit = globalCount; break;
                case TAG: limit = tagCount; break;
                default: throw invalid("unknown export kind of \"" + x.name() + "\"");
            }
            if (x.index() < 0 || x.index() >= limit) {
                throw invalid("unknown " + x.kind().name().toLowerCase() + " " + x.index() + " in export \""
                        + x.name() + "\"");
            }
        }
    }

    private void start() {
        int s = m.startFunction();
        if (s < 0) {
            return;
        }
        if (s >= functionCount) {
            throw invalid("unknown function " + s + " (start function)");
        }
        FuncType t = funcType(m.functionTypeIndex(s), "start function " + s);
        if (!t.params().isEmpty() || !t.results().isEmpty()) {
            throw invalid("start function " + s + " must have type [] -> [], has " + t);
        }
    }

    private void element(ElementSegment e, int index, StackTyper.Context context) {
        String what = "elem segment " + index;
        if (!e.type().isRef()) {
            throw invalid("malformed reference type of " + what);
        }
        valType(e.type(), what);
        if (e.mode() == SegmentMode.ACTIVE) {
            if (e.tableIndex() < 0 || e.tableIndex() >= tableCount) {
                throw invalid("unknown table " + e.tableIndex() + " in " + what);
            }
            TableType t = m.tableType(e.tableIndex());
            if (!subtyping.matches(e.type(), t.elementType())) {
                throw invalid("type mismatch: " + what + " of " + e.type() + " for table " + e.tableIndex() + " of "
                        + t.elementType());
            }
            if (e.offset() == null) {
                throw invalid("missing offset of " + what);
            }
            constant(e.offset(), t.limits().address64() ? ValType.I64 : ValType.I32, globalCount, context,
                    what + " offset");
        }
        if (e.functionIndices() != null) {
            for (int f : e.functionIndices()) {
                if (f < 0 || f >= functionCount) {
                    throw invalid("unknown function " + f + " in " + what);
                }
                ValType ref = ValType.ref(false, m.functionTypeIndex(f));
                if (!subtyping.matches(ref, e.type())) {
                    throw invalid("type mismatch: function " + f + " in " + what + " of " + e.type());
                }
            }
        } else {
            for (List<Instruction> expr : e.expressions()) {
                constant(expr, e.type(), globalCount, context, what + " item");
            }
        }
    }

    private void data(DataSegment d, int index, StackTyper.Context context) {
        if (d.mode() != SegmentMode.ACTIVE) {
            return;
        }
        String what = "data segment " + index;
        if (d.memoryIndex() < 0 || d.memoryIndex() >= memoryCount) {
            throw invalid("unknown memory " + d.memoryIndex() + " in " + what);
        }
        if (d.offset() == null) {
            throw invalid("missing offset of " + what);
        }
        ValType address = m.memoryType(d.memoryIndex()).limits().address64() ? ValType.I64 : ValType.I32;
        constant(d.offset(), address, globalCount, context, what + " offset");
    }
}
