package io.asyncify4j.wasm.model;

import java.util.ArrayList;
import java.util.List;

/**
 * A decoded wasm module that transforms can rewrite and the encoder writes back. Index spaces follow
 * the spec: imported functions (tables, memories, globals, tags) come first, then defined ones.
 * All lists are mutable.
 */
public final class ModuleModel {
    private final List<RecGroup> recGroups = new ArrayList<>();
    private final TrackedList<Import> imports = new TrackedList<>();
    private int indexedVersion = -1;
    /** The imports of each kind (by ordinal), in order: rebuilt after a change to the imports. */
    private Import[][] importsByKind;

    /** An ArrayList whose version changes with every change to it, so counts over it can be cached. */
    private static final class TrackedList<T> extends ArrayList<T> {
        private int sets;

        int version() {
            return modCount + sets; // both only grow: any change makes a new version
        }

        @Override
        public T set(int index, T element) {
            sets++;
            return super.set(index, element);
        }
    }
    private final List<Function> functions = new ArrayList<>();
    private final List<Table> tables = new ArrayList<>();
    private final List<MemoryType> memories = new ArrayList<>();
    private final List<Tag> tags = new ArrayList<>();
    private final List<Global> globals = new ArrayList<>();
    private final List<Export> exports = new ArrayList<>();
    private final List<ElementSegment> elements = new ArrayList<>();
    private final List<DataSegment> data = new ArrayList<>();
    private final List<CustomSection> customSections = new ArrayList<>();
    private int startFunction = -1;
    private boolean hasDataCount;
    private NameSection names;

    public List<RecGroup> recGroups() {
        return recGroups;
    }

    public List<Import> imports() {
        return imports;
    }

    public List<Function> functions() {
        return functions;
    }

    public List<Table> tables() {
        return tables;
    }

    public List<MemoryType> memories() {
        return memories;
    }

    public List<Tag> tags() {
        return tags;
    }

    public List<Global> globals() {
        return globals;
    }

    public List<Export> exports() {
        return exports;
    }

    public List<ElementSegment> elements() {
        return elements;
    }

    public List<DataSegment> data() {
        return data;
    }

    public List<CustomSection> customSections() {
        return customSections;
    }

    /** The start function's index, or -1. */
    public int startFunction() {
        return startFunction;
    }

    public void setStartFunction(int startFunction) {
        this.startFunction = startFunction;
    }

    /** Whether a data count section is (to be) written; required when code uses memory.init/data.drop. */
    public boolean hasDataCount() {
        return hasDataCount;
    }

    public void setHasDataCount(boolean hasDataCount) {
        this.hasDataCount = hasDataCount;
    }

    /** The decoded name section, or null when the module has none. */
    public NameSection names() {
        return names;
    }

    public void setNames(NameSection names) {
        this.names = names;
    }

    // ---- derived views ----

    /** All defined types, flattened across recursion groups, in type-index order. */
    public List<SubType> types() {
        List<SubType> all = new ArrayList<>();
        for (RecGroup g : recGroups) {
            all.addAll(g.types());
        }
        return all;
    }

    public SubType type(int typeIndex) {
        int i = typeIndex;
        for (RecGroup g : recGroups) {
            if (i < g.types().size()) {
                return g.types().get(i);
            }
            i -= g.types().size();
        }
        throw new IndexOutOfBoundsException("type index " + typeIndex + " out of range");
    }

    public int typeCount() {
        int n = 0;
        for (RecGroup g : recGroups) {
            n += g.types().size();
        }
        return n;
    }

    /** The function type at {@code typeIndex}; fails when that type is not a function type. */
    public FuncType funcType(int typeIndex) {
        CompositeType c = type(typeIndex).composite();
        if (c instanceof FuncType f) {
            return f;
        }
        throw new IllegalArgumentException("type " + typeIndex + " is not a function type");
    }

    /**
     * Index of a final, supertype-free function type equal to {@code type} in a group of its own,
     * adding one at the end when none exists.
     */
    public int internFuncType(FuncType type) {
        int index = 0;
        for (RecGroup g : recGroups) {
            if (g.types().size() == 1) {
                SubType s = g.types().get(0);
                if (s.isFinal() && s.supertypes().isEmpty() && s.composite().equals(type)) {
                    return index;
                }
            }
            index += g.types().size();
        }
        recGroups.add(new RecGroup(List.of(SubType.plain(type)), false));
        return index;
    }

    public int importCount(ExternalKind kind) {
        return importsOf(kind).length;
    }

    /**
     * The imports of {@code kind} in order, indexed once per change to the imports: lookups by index
     * run per call site and per instruction, and counting through all imports each time made them
     * imports x lookups.
     */
    private Import[] importsOf(ExternalKind kind) {
        int version = imports.version();
        if (version != indexedVersion) {
            ExternalKind[] kinds = ExternalKind.values();
            int[] counts = new int[kinds.length];
            for (Import i : imports) {
                counts[i.kind().ordinal()]++;
            }
            Import[][] byKind = new Import[kinds.length][];
            for (int k = 0; k < kinds.length; k++) {
                byKind[k] = new Import[counts[k]];
                counts[k] = 0;
            }
            for (Import i : imports) {
                int k = i.kind().ordinal();
                byKind[k][counts[k]++] = i;
            }
            importsByKind = byKind;
            indexedVersion = version;
        }
        return importsByKind[kind.ordinal()];
    }

    /** Imported functions: counted once per change to the imports (callers ask for it per call site). */
    public int importedFunctionCount() {
        return importCount(ExternalKind.FUNCTION);
    }

    /** Number of functions in the function index space. */
    public int functionCount() {
        return importedFunctionCount() + functions.size();
    }

    /** Type index of function {@code funcIndex} (imported or defined). */
    public int functionTypeIndex(int funcIndex) {
        Import[] imported = importsOf(ExternalKind.FUNCTION);
        if (funcIndex < imported.length) {
            Import i = imported[funcIndex];
            return i.typeIndex();
        }
        int seen = imported.length;
        return functions.get(funcIndex - seen).typeIndex();
    }

    public FuncType functionType(int funcIndex) {
        return funcType(functionTypeIndex(funcIndex));
    }

    /** The import behind function {@code funcIndex}, or null when it is defined by the module. */
    public Import functionImport(int funcIndex) {
        Import[] imported = importsOf(ExternalKind.FUNCTION);
        return funcIndex >= 0 && funcIndex < imported.length ? imported[funcIndex] : null;
    }

    /** The defined function with function index {@code funcIndex}. */
    public Function definedFunction(int funcIndex) {
        return functions.get(funcIndex - importedFunctionCount());
    }

    public GlobalType globalType(int globalIndex) {
        Import[] imported = importsOf(ExternalKind.GLOBAL);
        if (globalIndex < imported.length) {
            Import i = imported[globalIndex];
            return i.global();
        }
        int seen = imported.length;
        return globals.get(globalIndex - seen).type();
    }

    public TableType tableType(int tableIndex) {
        Import[] imported = importsOf(ExternalKind.TABLE);
        if (tableIndex < imported.length) {
            Import i = imported[tableIndex];
            return i.table();
        }
        int seen = imported.length;
        return tables.get(tableIndex - seen).type();
    }

    public MemoryType memoryType(int memoryIndex) {
        Import[] imported = importsOf(ExternalKind.MEMORY);
        if (memoryIndex < imported.length) {
            Import i = imported[memoryIndex];
            return i.memory();
        }
        int seen = imported.length;
        return memories.get(memoryIndex - seen);
    }

    public int tagTypeIndex(int tagIndex) {
        Import[] imported = importsOf(ExternalKind.TAG);
        if (tagIndex < imported.length) {
            Import i = imported[tagIndex];
            return i.typeIndex();
        }
        int seen = imported.length;
        return tags.get(tagIndex - seen).typeIndex();
    }

    /** A readable name for function {@code funcIndex}: its name-section name, import name, or index. */
    public String functionDisplayName(int funcIndex) {
        if (names != null && names.functionNames().containsKey(funcIndex)) {
            return "$" + names.functionNames().get(funcIndex);
        }
        Import imp = functionImport(funcIndex);
        if (imp != null) {
            return imp.module() + "." + imp.name();
        }
        return "func[" + funcIndex + "]";
    }
}
