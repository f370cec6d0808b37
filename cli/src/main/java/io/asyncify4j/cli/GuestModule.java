package io.asyncify4j.cli;

import io.asyncify4j.asyncify.AsyncifyAbi;
import io.asyncify4j.host.DataRegion;
import io.asyncify4j.wasm.binary.WasmFormatException;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.Export;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Import;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.ValType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code run} needs to know about a module before it is loaded: its function exports and imports,
 * and whether it was asyncified already (and by whom), so that it is driven rather than transformed twice.
 */
final class GuestModule {
    /** How a module relates to asyncify. */
    enum Asyncified {
        /** Not asyncified: the host transforms it at load time. */
        NO,
        /** Exports Binaryen's asyncify ABI, data in memory 0 (wasm-opt --asyncify, or {@code asyncify4j transform}). */
        BINARYEN_ABI
    }

    static final List<String> ABI_EXPORTS = List.of(AsyncifyAbi.START_UNWIND, AsyncifyAbi.STOP_UNWIND,
            AsyncifyAbi.START_REWIND, AsyncifyAbi.STOP_REWIND, AsyncifyAbi.GET_STATE);

    private final Path file;
    private final ModuleModel model;
    private final Map<String, FuncType> functionExports = new LinkedHashMap<>();

    private GuestModule(Path file, ModuleModel model) {
        this.file = file;
        this.model = model;
        for (Export e : model.exports()) {
            if (e.kind() == ExternalKind.FUNCTION) {
                functionExports.put(e.name(), model.functionType(e.index()));
            }
        }
    }

    /** Decodes {@code wasm}; a module our decoder refuses is bad input. */
    static GuestModule of(Path file, byte[] wasm) {
        try {
            return new GuestModule(file, WasmCodec.decode(wasm));
        } catch (WasmFormatException e) {
            throw CliException.badInput("invalid module " + file + ": " + e.getMessage(), e);
        }
    }

    boolean exportsFunction(String name) {
        return functionExports.containsKey(name);
    }

    /** The type of a function export; a missing one is a usage error naming the exports there are. */
    FuncType exportType(String name) {
        FuncType type = functionExports.get(name);
        if (type == null) {
            throw CliException.badInput(file.getFileName() + " exports no function '" + name + "' (it exports: "
                    + (functionExports.isEmpty() ? "none" : String.join(", ", functionExports.keySet())) + ")");
        }
        return type;
    }

    /**
     * Whether the module was asyncified already. Refused (bad input) are the forms {@code run} cannot
     * drive: the host runtime's own output (it imports the reserved {@code asyncify4j} namespace),
     * data in a secondary memory ({@code transform --secondary-memory}), and part of the ABI only.
     */
    Asyncified asyncified() {
        for (Import i : model.imports()) {
            if (i.module().equals(AsyncifyAbi.STATE_IMPORT_MODULE)) {
                throw CliException.badInput(file.getFileName() + " imports " + i + " from asyncify4j's reserved"
                        + " namespace (it is the host runtime's own transform output, or written against it):"
                        + " run takes modules before that transform");
            }
        }
        for (Export e : model.exports()) {
            if (e.name().equals(AsyncifyAbi.DATA_MEMORY_EXPORT)) {
                throw CliException.badInput(file.getFileName() + " keeps its asyncify data in a secondary memory"
                        + " (transform --secondary-memory): run drives modules whose asyncify data is in memory 0");
            }
        }
        List<String> present = new ArrayList<>();
        for (String name : ABI_EXPORTS) {
            if (functionExports.containsKey(name)) {
                present.add(name);
            }
        }
        if (present.isEmpty()) {
            return Asyncified.NO;
        }
        if (present.size() < ABI_EXPORTS.size()) {
            List<String> missing = new ArrayList<>(ABI_EXPORTS);
            missing.removeAll(present);
            throw CliException.badInput(file.getFileName() + " exports " + String.join(", ", present) + " but not "
                    + String.join(", ", missing) + ": not a complete asyncify ABI");
        }
        return Asyncified.BINARYEN_ABI;
    }

    /** Size of the asyncify data region {@code run} allocates with the module's {@code malloc} by default. */
    static final int DEFAULT_DATA_SIZE = 65536;

    /**
     * Where a module asyncified ahead of time keeps its asyncify data: {@code spec} is {@code ADDR:SIZE}
     * (a region of memory 0 the guest does not use) or {@code EXPORT:SIZE} (its allocator export, called
     * with SIZE at instantiation); null: {@code malloc:65536} when the module exports {@code malloc}.
     */
    DataRegion dataRegion(String spec, String option) {
        if (spec == null) {
            if (isAllocator("malloc")) {
                return DataRegion.allocate("malloc", DEFAULT_DATA_SIZE);
            }
            throw CliException.badInput(file.getFileName() + " is asyncified already (it exports asyncify_start_unwind"
                    + " ...) and exports no malloc: give " + option + " ADDR:SIZE (a region of its memory it does not use)"
                    + " or " + option + " ALLOCATOR:SIZE");
        }
        int colon = spec.lastIndexOf(':');
        Long size = colon < 0 ? null : number(spec.substring(colon + 1));
        if (size == null || size < 16 || size > Integer.MAX_VALUE) {
            throw CliException.badInput(option + " takes ADDR:SIZE or ALLOCATOR:SIZE with SIZE >= 16 bytes, got '" + spec + "'");
        }
        String where = spec.substring(0, colon);
        Long address = number(where);
        if (address == null) {
            if (!isAllocator(where)) {
                throw CliException.badInput(option + " " + spec + ": " + file.getFileName() + " exports no allocator '"
                        + where + "' of type (i32) -> (i32)");
            }
            return DataRegion.allocate(where, size.intValue());
        }
        long memory = initialMemoryBytes();
        if (address % 4 != 0 || address + size > memory) {
            throw CliException.badInput(option + " " + spec + ": the region must be 4-byte aligned and lie within the "
                    + memory + " bytes memory 0 has at instantiation");
        }
        return DataRegion.at(address.intValue(), size.intValue());
    }

    private boolean isAllocator(String export) {
        FuncType t = functionExports.get(export);
        return t != null && t.params().equals(List.of(ValType.I32)) && t.results().equals(List.of(ValType.I32));
    }

    /** A non-negative decimal or 0x-hexadecimal number, or null. */
    private static Long number(String s) {
        try {
            long v = s.startsWith("0x") || s.startsWith("0X") ? Long.parseLong(s.substring(2), 16) : Long.parseLong(s);
            return v < 0 ? null : v;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** Bytes of memory 0 at instantiation, or 0 without a memory. */
    long initialMemoryBytes() {
        for (Import i : model.imports()) {
            if (i.kind() == ExternalKind.MEMORY) {
                return i.memory().limits().min() * 65536;
            }
        }
        return model.memories().isEmpty() ? 0 : model.memories().get(0).limits().min() * 65536;
    }

    /**
     * The type of the function import {@code qualifiedName} ({@code module.name}); one the module does not
     * import is bad input naming the function imports there are.
     */
    FunctionImport functionImport(String qualifiedName, String option) {
        List<String> names = new ArrayList<>();
        for (Import i : model.imports()) {
            if (i.kind() == ExternalKind.FUNCTION) {
                if (i.toString().equals(qualifiedName)) {
                    return new FunctionImport(i.module(), i.name(), model.funcType(i.typeIndex()));
                }
                names.add(i.toString());
            }
        }
        throw CliException.badInput(option + " " + qualifiedName + ": " + file.getFileName()
                + " imports no such function (it imports: " + (names.isEmpty() ? "none" : String.join(", ", names)) + ")");
    }

    /** A function import of the module. */
    record FunctionImport(String module, String name, FuncType type) {}

    /** The type as wasm text writes it, e.g. {@code (i32, i64) -> (i32)}. */
    static String describe(FuncType type) {
        return "(" + names(type.params()) + ") -> (" + names(type.results()) + ")";
    }

    private static String names(List<ValType> types) {
        return String.join(", ", typeNames(types));
    }

    /** The types as wasm text names them ({@code i32}, {@code v128}...; {@code ref} for any reference). */
    static List<String> typeNames(List<ValType> types) {
        return types.stream().map(t -> t.isRef() ? "ref" : t.kind().name().toLowerCase(java.util.Locale.ROOT)).toList();
    }
}
