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
    private final List<Import> imports = new ArrayList<>();
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
        int n = 0;
        for (Import i : imports) {
            if (i.kind() == kind) {
                n++;
            }
        }
        return n;
    }

    public int importedFunctionCount() {
        return importCount(ExternalKind.FUNCTION);
    }

    /** Number of functions in the function index space. */
    public int functionCount() {
        return importedFunctionCount() + functions.size();
    }

    /** Type index of function {@code funcIndex} (imported or defined). */
    public int functionTypeIndex(int funcIndex) {
        int seen = 0;
        for (Import i : imports) {
            if (i.kind() == ExternalKind.FUNCTION) {
                if (seen == funcIndex) {
                    return i.typeIndex();
                }
                seen++;
            }
        }
        return functions.get(funcIndex - seen).typeIndex();
    }

    public FuncType functionType(int funcIndex) {
        return funcType(functionTypeIndex(funcIndex));
    }

    /** The import behind function {@code funcIndex}, or null when it is defined by the module. */
    public Import functionImport(int funcIndex) {
        int seen = 0;
        for (Import i : imports) {
            if (i.kind() == ExternalKind.FUNCTION) {
                if (seen == funcIndex) {
                    return i;
                }
                seen++;
            }
        }
        return null;
    }

    /** The defined function with function index {@code funcIndex}. */
    public Function definedFunction(int funcIndex) {
        return functions.get(funcIndex - importedFunctionCount());
    }

    public GlobalType globalType(int globalIndex) {
        int seen = 0;
        for (Import i : imports) {
            if (i.kind() == ExternalKind.GLOBAL) {
                if (seen == globalIndex) {
                    return i.global();
                }
                seen++;
            }
        }
        return globals.get(globalIndex - seen).type();
    }

    public TableType tableType(int tableIndex) {
        int seen = 0;
        for (Import i : imports) {
            if (i.kind() == ExternalKind.TABLE) {
                if (seen == tableIndex) {
                    return i.table();
                }
                seen++;
            }
        }
        return tables.get(tableIndex - seen).type();
    }

    public MemoryType memoryType(int memoryIndex) {
        int seen = 0;
        for (Import i : imports) {
            if (i.kind() == ExternalKind.MEMORY) {
                if (seen == memoryIndex) {
                    return i.memory();
                }
                seen++;
            }
        }
        return memories.get(memoryIndex - seen);
    }

    public int tagTypeIndex(int tagIndex) {
        int seen = 0;
        for (Import i : imports) {
            if (i.kind() == ExternalKind.TAG) {
                if (seen == tagIndex) {
                    return i.typeIndex();
                }
                seen++;
            }
        }
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
