package io.asyncify4j.wasm.codec;

import io.asyncify4j.wasm.binary.BinaryReader;
import io.asyncify4j.wasm.binary.MalformedModuleException;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.model.ArrayType;
import io.asyncify4j.wasm.model.CompositeType;
import io.asyncify4j.wasm.model.CustomSection;
import io.asyncify4j.wasm.model.DataSegment;
import io.asyncify4j.wasm.model.ElementSegment;
import io.asyncify4j.wasm.model.Export;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.FieldType;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Function;
import io.asyncify4j.wasm.model.Global;
import io.asyncify4j.wasm.model.GlobalType;
import io.asyncify4j.wasm.model.Import;
import io.asyncify4j.wasm.model.MemoryType;
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
import io.asyncify4j.asyncify.LoadLimitExceededException;
import io.asyncify4j.asyncify.LoadLimits;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Decodes a wasm binary into a {@link ModuleModel}. Structural errors raise {@link MalformedModuleException}. */
public final class ModuleDecoder {
    static final int[] MAGIC = {0x00, 0x61, 0x73, 0x6D};
    static final int[] VERSION = {0x01, 0x00, 0x00, 0x00};

    /** Section ids in the order the binary format requires them. */
    static final int[] SECTION_ORDER = {1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11};

    /** Defined-local count above which a function is refused rather than expanded into memory. */
    private static final long MAX_EXPANDED_LOCALS = 1L << 24;

    /** Declared locals in the whole module above which decoding is refused (untrusted input). */
    private static final long MAX_MODULE_LOCALS = 1L << 25;

    private final ModuleModel module = new ModuleModel();
    private final LoadLimits limits;
    private int importedFunctions;
    private long moduleLocals;
    private final List<Integer> functionTypeIndices = new ArrayList<>();
    private long declaredDataCount = -1;

    private ModuleDecoder(LoadLimits limits) {
        this.limits = limits;
    }

    public static ModuleModel decode(byte[] wasm) {
        return decode(wasm, LoadLimits.defaults());
    }

    /** Decodes within {@code limits}: a module beyond one gets a {@link LoadLimitExceededException}. */
    public static ModuleModel decode(byte[] wasm, LoadLimits limits) {
        if (wasm.length > limits.maxModuleBytes()) {
            throw new LoadLimitExceededException(LoadLimits.MODULE_BYTES, wasm.length, limits.maxModuleBytes(), -1);
        }
        return new ModuleDecoder(limits).run(wasm);
    }

    private static int rank(int id) {
        for (int i = 0; i < SECTION_ORDER.length; i++) {
            if (SECTION_ORDER[i] == id) {
                return i;
            }
        }
        return -1;
    }

    private ModuleModel run(byte[] wasm) {
        BinaryReader r = new BinaryReader(wasm);
        for (int m : MAGIC) {
            if (r.atEnd() || r.u8() != m) {
                throw new MalformedModuleException("magic header not detected", 0);
            }
        }
        for (int v : VERSION) {
            if (r.atEnd() || r.u8() != v) {
                throw new MalformedModuleException("unknown binary version", 4);
            }
        }
        int lastRank = -1;
        int lastId = 0;
        boolean sawCode = false;
        while (!r.atEnd()) {
            int idStart = r.position();
            int id = r.u8();
            long size = r.u32();
            if (size > r.end() - r.position()) {
                throw new MalformedModuleException("section " + id + " size " + size + " exceeds the module ("
                        + "unexpected end)", idStart);
            }
            int contentStart = r.position();
            BinaryReader s = r.slice((int) size);
            if (id == 0) {
                readCustom(s, lastId);
                continue;
            }
            int rank = rank(id);
            if (rank < 0) {
                throw new MalformedModuleException("malformed section id " + id, idStart);
            }
            if (rank <= lastRank) {
                throw new MalformedModuleException("unexpected content after last section: section " + id
                        + " out of order or duplicated", idStart);
            }
            lastRank = rank;
            switch (id) {
                case 1: readTypes(s); break;
                case 2: readImports(s); break;
                case 3: readFunctionDeclarations(s); break;
                case 4: readTables(s); break;
                case 5: readMemories(s); break;
                case 13: readTags(s); break;
                case 6: readGlobals(s); break;
                case 7: readExports(s); break;
                case 8: module.setStartFunction(s.index()); break;
                case 9: readElements(s); break;
                case 12:
                    declaredDataCount = s.u32();
                    module.setHasDataCount(true);
                    break;
                case 10: readCode(s); sawCode = true; break;
                case 11: readData(s); break;
                default: throw new IllegalStateException("section " + id);
            }
            if (!s.atEnd()) {
                throw new MalformedModuleException("section size mismatch in section " + id, s.position());
            }
            // Custom sections are anchored to the last known section that is written back: a vector
            // section with no entries is omitted by the encoder, so it does not count.
            if (id == 8 || id == 12 || new BinaryReader(wasm, contentStart, contentStart + (int) size).u32() != 0) {
                lastId = id;
            }
        }
        if (!sawCode && !functionTypeIndices.isEmpty()) {
            throw new MalformedModuleException("function and code section have inconsistent lengths: "
                    + functionTypeIndices.size() + " functions declared, no code section", wasm.length);
        }
        if (declaredDataCount >= 0 && declaredDataCount != module.data().size()) {
            throw new MalformedModuleException("data count and data section have inconsistent lengths",
                    wasm.length);
        }
        return module;
    }

    private void readCustom(BinaryReader s, int afterSection) {
        String name = s.name();
        byte[] content = s.bytes(s.end() - s.position());
        if (name.equals("name") && module.names() == null) {
            NameSection names = tryReadNames(content);
            if (names != null) {
                names.setAfterSection(afterSection);
                module.setNames(names);
                return;
            }
        }
        module.customSections().add(new CustomSection(name, content, afterSection));
    }

    /** Decodes the name section; a malformed one is kept raw, as engines ignore custom sections. */
    private static NameSection tryReadNames(byte[] content) {
        try {
            NameSection names = new NameSection();
            BinaryReader r = new BinaryReader(content);
            while (!r.atEnd()) {
                int id = r.u8();
                BinaryReader sub = r.slice(r.index());
                switch (id) {
                    case 0:
                        names.setModuleName(sub.name());
                        break;
                    case 1:
                        readNameMap(sub, names.functionNames());
                        break;
                    case 2: {
                        int n = sub.index();
                        for (int i = 0; i < n; i++) {
                            int func = sub.index();
                            Map<Integer, String> locals = new java.util.TreeMap<>();
                            readNameMap(sub, locals);
                            names.localNames().put(func, locals);
                        }
                        break;
                    }
                    case 7:
                        readNameMap(sub, names.globalNames());
                        break;
                    default:
                        names.otherSubsections().add(new NameSection.RawSubsection(id,
                                sub.bytes(sub.end() - sub.position())));
                }
                if (!sub.atEnd()) {
                    return null;
                }
            }
            return names;
        } catch (MalformedModuleException e) {
            return null;
        }
    }

    private static void readNameMap(BinaryReader r, Map<Integer, String> into) {
        int n = r.index();
        for (int i = 0; i < n; i++) {
            into.put(r.index(), r.name());
        }
    }

    private void readTypes(BinaryReader s) {
        int n = s.index();
        for (int i = 0; i < n; i++) {
            if (s.peekU8() == 0x4E) {
                s.u8();
                int m = s.index();
                List<SubType> group = new ArrayList<>();
                for (int j = 0; j < m; j++) {
                    group.add(readSubType(s));
                }
                module.recGroups().add(new RecGroup(group, true));
            } else {
                module.recGroups().add(new RecGroup(List.of(readSubType(s)), false));
            }
        }
    }

    private SubType readSubType(BinaryReader s) {
        int b = s.peekU8();
        if (b == 0x50 || b == 0x4F) {
            s.u8();
            int n = s.index();
            List<Integer> supers = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                supers.add(s.index());
            }
            return new SubType(b == 0x4F, supers, readCompositeType(s));
        }
        return SubType.plain(readCompositeType(s));
    }

    private CompositeType readCompositeType(BinaryReader s) {
        int start = s.position();
        int form = s.u8();
        switch (form) {
            case 0x60: {
                List<ValType> params = readValTypes(s);
                List<ValType> results = readValTypes(s);
                return new FuncType(params, results);
            }
            case 0x5F: {
                int n = s.index();
                List<FieldType> fields = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    fields.add(readFieldType(s));
                }
                return new StructType(fields);
            }
            case 0x5E:
                return new ArrayType(readFieldType(s));
            default:
                throw new MalformedModuleException("malformed type form 0x" + Integer.toHexString(form), start);
        }
    }

    private static FieldType readFieldType(BinaryReader s) {
        ValType storage = TypeCodec.readStorageType(s);
        return new FieldType(storage, readMutability(s));
    }

    private static boolean readMutability(BinaryReader s) {
        int start = s.position();
        int m = s.u8();
        if (m > 1) {
            throw new MalformedModuleException("malformed mutability " + m, start);
        }
        return m == 1;
    }

    private static List<ValType> readValTypes(BinaryReader s) {
        int n = s.index();
        if (n > s.end() - s.position()) {
            throw s.error("value type count " + n + " exceeds the section");
        }
        List<ValType> types = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            types.add(TypeCodec.readValType(s));
        }
        return types;
    }

    private static TableType readTableType(BinaryReader s) {
        int start = s.position();
        ValType elem = TypeCodec.readValType(s);
        if (!elem.isRef()) {
            throw new MalformedModuleException("malformed reference type for table: " + elem, start);
        }
        return new TableType(elem, TypeCodec.readLimits(s));
    }

    private void readImports(BinaryReader s) {
        int n = s.index();
        for (int i = 0; i < n; i++) {
            String mod = s.name();
            String name = s.name();
            int start = s.position();
            int kind = s.u8();
            switch (kind) {
                case 0: module.imports().add(Import.function(mod, name, s.index())); break;
                case 1: module.imports().add(Import.table(mod, name, readTableType(s))); break;
                case 2: module.imports().add(Import.memory(mod, name, new MemoryType(TypeCodec.readLimits(s)))); break;
                case 3: {
                    ValType t = TypeCodec.readValType(s);
                    module.imports().add(Import.global(mod, name, new GlobalType(t, readMutability(s))));
                    break;
                }
                case 4:
                    readTagAttribute(s);
                    module.imports().add(Import.tag(mod, name, s.index()));
                    break;
                default:
                    throw new MalformedModuleException("malformed import kind " + kind, start);
            }
            if (kind == 0 && ++importedFunctions > limits.maxFunctions()) {
                throw new LoadLimitExceededException(LoadLimits.FUNCTIONS, importedFunctions,
                        limits.maxFunctions(), -1);
            }
        }
    }

    private static void readTagAttribute(BinaryReader s) {
        int start = s.position();
        int attribute = s.u8();
        if (attribute != 0) {
            throw new MalformedModuleException("malformed tag attribute " + attribute, start);
        }
    }

    private void readFunctionDeclarations(BinaryReader s) {
        int n = s.index();
        long functions = (long) importedFunctions + n;
        if (functions > limits.maxFunctions()) {
            throw new LoadLimitExceededException(LoadLimits.FUNCTIONS, functions, limits.maxFunctions(), -1);
        }
        for (int i = 0; i < n; i++) {
            functionTypeIndices.add(s.index());
        }
    }

    private void readTables(BinaryReader s) {
        int n = s.index();
        for (int i = 0; i < n; i++) {
            if (s.peekU8() == 0x40) {
                s.u8();
                int start = s.position();
                if (s.u8() != 0) {
                    throw new MalformedModuleException("malformed table: reserved byte must be 0", start);
                }
                TableType t = readTableType(s);
                module.tables().add(new Table(t, readConstExpr(s)));
            } else {
                module.tables().add(new Table(readTableType(s), null));
            }
        }
    }

    private void readMemories(BinaryReader s) {
        int n = s.index();
        for (int i = 0; i < n; i++) {
            module.memories().add(new MemoryType(TypeCodec.readLimits(s)));
        }
    }

    private void readTags(BinaryReader s) {
        int n = s.index();
        for (int i = 0; i < n; i++) {
            readTagAttribute(s);
            module.tags().add(new Tag(s.index()));
        }
    }

    private void readGlobals(BinaryReader s) {
        int n = s.index();
        for (int i = 0; i < n; i++) {
            ValType t = TypeCodec.readValType(s);
            GlobalType gt = new GlobalType(t, readMutability(s));
            module.globals().add(new Global(gt, readConstExpr(s)));
        }
    }

    private void readExports(BinaryReader s) {
        int n = s.index();
        for (int i = 0; i < n; i++) {
            String name = s.name();
            int start = s.position();
            ExternalKind kind = ExternalKind.ofCode(s.u8());
            if (kind == null) {
                throw new MalformedModuleException("malformed export kind", start);
            }
            module.exports().add(new Export(name, kind, s.index()));
        }
    }

    private void readElements(BinaryReader s) {
        int n = s.index();
        for (int i = 0; i < n; i++) {
            int start = s.position();
            long flags = s.u32();
            if (flags > 7) {
                throw new MalformedModuleException("malformed elements segment kind " + flags, start);
            }
            boolean passiveOrDeclarative = (flags & 1) != 0;
            boolean explicitTable = (flags & 2) != 0;
            boolean usesExpressions = (flags & 4) != 0;
            SegmentMode mode = !passiveOrDeclarative ? SegmentMode.ACTIVE
                    : explicitTable ? SegmentMode.DECLARATIVE : SegmentMode.PASSIVE;
            int table = 0;
            List<Instruction> offset = null;
            if (mode == SegmentMode.ACTIVE) {
                if (explicitTable) {
                    table = s.index();
                }
                offset = readConstExpr(s);
            }
            ValType type = ValType.FUNCREF;
            if (passiveOrDeclarative || explicitTable) {
                if (usesExpressions) {
                    type = TypeCodec.readValType(s);
                } else {
                    int kindStart = s.position();
                    if (s.u8() != 0) {
                        throw new MalformedModuleException("malformed element kind", kindStart);
                    }
                }
            }
            int count = s.index();
            if (usesExpressions) {
                List<List<Instruction>> exprs = new ArrayList<>();
                for (int j = 0; j < count; j++) {
                    exprs.add(readConstExpr(s));
                }
                module.elements().add(new ElementSegment(mode, table, offset, type, null, exprs, explicitTable));
            } else {
                List<Integer> funcs = new ArrayList<>();
                for (int j = 0; j < count; j++) {
                    funcs.add(s.index());
                }
                module.elements().add(new ElementSegment(mode, table, offset, type, funcs, null, explicitTable));
            }
        }
    }

    private void readCode(BinaryReader s) {
        int start = s.position();
        int n = s.index();
        if (n != functionTypeIndices.size()) {
            throw new MalformedModuleException("function and code section have inconsistent lengths: "
                    + functionTypeIndices.size() + " functions declared, " + n + " bodies", start);
        }
        for (int i = 0; i < n; i++) {
            int bodyStart = s.position();
            BinaryReader body = s.slice(s.index());
            int groups = body.index();
            // The counts first (each group takes at least two bytes, so these arrays are bounded by the
            // body), then the checks, so that a malformed total wins over a load limit, and only then
            // the locals are expanded.
            long total = 0;
            long[] counts = new long[Math.min(groups, body.end() - body.position())];
            ValType[] types = new ValType[counts.length];
            for (int g = 0; g < groups; g++) {
                long count = body.u32();
                ValType t = TypeCodec.readValType(body);
                if (g >= counts.length) {
                    throw new MalformedModuleException("local declarations exceed function " + i + "'s body", bodyStart);
                }
                counts[g] = count;
                types[g] = t;
                total += count;
                if (total > 0xFFFFFFFFL) {
                    throw new MalformedModuleException("too many locals in function " + i, bodyStart);
                }
            }
            if (total > limits.maxLocalsPerFunction()) {
                throw new LoadLimitExceededException(LoadLimits.LOCALS_PER_FUNCTION, total,
                        limits.maxLocalsPerFunction(), importedFunctions + i);
            }
            if (total > MAX_EXPANDED_LOCALS) {
                throw new MalformedModuleException("too many locals in function " + i + ": " + total
                        + " (more than " + MAX_EXPANDED_LOCALS + " are not supported)", bodyStart);
            }
            moduleLocals += total;
            if (moduleLocals > MAX_MODULE_LOCALS) {
                throw new MalformedModuleException("too many locals in the module: more than "
                        + MAX_MODULE_LOCALS + " are not supported", bodyStart);
            }
            List<ValType> locals = new ArrayList<>((int) total);
            for (int g = 0; g < groups; g++) {
                for (long c = 0; c < counts[g]; c++) {
                    locals.add(types[g]);
                }
            }
            List<Instruction> code = InstructionCodec.readExpression(body, this::memoryIs64,
                    limits.maxNestingDepth(), importedFunctions + i);
            if (!body.atEnd()) {
                throw new MalformedModuleException("section size mismatch: function " + i
                        + " body continues after its end", body.position());
            }
            module.functions().add(new Function(functionTypeIndices.get(i), locals, code));
        }
    }

    private void readData(BinaryReader s) {
        int n = s.index();
        for (int i = 0; i < n; i++) {
            int start = s.position();
            long flags = s.u32();
            switch ((int) Math.min(flags, 3)) {
                case 0: {
                    List<Instruction> offset = readConstExpr(s);
                    module.data().add(new DataSegment(SegmentMode.ACTIVE, 0, offset, s.bytes(s.u32())));
                    break;
                }
                case 1:
                    module.data().add(new DataSegment(SegmentMode.PASSIVE, 0, null, s.bytes(s.u32())));
                    break;
                case 2: {
                    int memory = s.index();
                    List<Instruction> offset = readConstExpr(s);
                    module.data().add(new DataSegment(SegmentMode.ACTIVE, memory, offset, s.bytes(s.u32())));
                    break;
                }
                default:
                    throw new MalformedModuleException("malformed data segment kind " + flags, start);
            }
        }
    }

    private List<Instruction> readConstExpr(BinaryReader s) {
        return InstructionCodec.readExpression(s, this::memoryIs64, limits.maxNestingDepth(), -1);
    }

    private final Map<Integer, Boolean> memory64Cache = new HashMap<>();

    private boolean memoryIs64(int memoryIndex) {
        return memory64Cache.computeIfAbsent(memoryIndex, i -> {
            int imported = module.importCount(ExternalKind.MEMORY);
            if (i < imported) {
                return module.memoryType(i).limits().address64();
            }
            int local = i - imported;
            return local < module.memories().size() && module.memories().get(local).limits().address64();
        });
    }
}
