package io.asyncify4j.cli;

import run.endive.wasm.WasmEngineException;
import run.endive.wasm.Parser;
import run.endive.wasm.WasmModule;
import run.endive.wasm.types.Export;
import run.endive.wasm.types.ExternalType;
import run.endive.wasm.types.FunctionBody;
import run.endive.wasm.types.FunctionImport;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.GlobalImport;
import run.endive.wasm.types.Import;
import run.endive.wasm.types.MemoryImport;
import run.endive.wasm.types.MemoryLimits;
import run.endive.wasm.types.MutabilityType;
import run.endive.wasm.types.RawSection;
import run.endive.wasm.types.Section;
import run.endive.wasm.types.TableImport;
import run.endive.wasm.types.TableLimits;
import run.endive.wasm.types.TagImport;
import run.endive.wasm.types.ValType;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "info",
        mixinStandardHelpOptions = true,
        description = {
            "Describes a module: imports and exports with their types, function counts, instruction count and"
                    + " the payload size of each section. .wat input goes through wabt's wat2wasm.",
            ""
        },
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "2:usage error or bad input file"})
final class InfoCommand implements Callable<Integer> {
    private static final String[] SECTION_NAMES = {
        "custom", "type", "import", "function", "table", "memory", "global", "export",
        "start", "element", "code", "data", "datacount", "tag"
    };

    @Parameters(index = "0", paramLabel = "FILE", description = "A .wat or .wasm module.")
    Path file;

    @Option(names = {"-v", "--verbose"}, description = "Debug logs and stack traces.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Logging.configure(verbose);
        if (ModuleFiles.kind(file) == ModuleFiles.Kind.WAST) {
            throw CliException.badInput(file + " is a script; info describes a .wat or .wasm module");
        }
        byte[] wasm = ModuleFiles.wasmBytes(file);
        WasmModule module;
        List<String> sections = new ArrayList<>();
        try {
            module = io.asyncify4j.engine.Engines.parse(wasm);
            Parser.parseWithoutDecoding(wasm, s -> sections.add(describeSection(s)));
        } catch (WasmEngineException e) {
            throw CliException.badInput("invalid module " + file + ": " + e.getMessage(), e);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.printf("module: %s (%d bytes)%n", file, wasm.length);

        var imports = module.importSection();
        out.printf("imports: %d%n", imports.importCount());
        for (int i = 0; i < imports.importCount(); i++) {
            Import imp = imports.getImport(i);
            out.printf("  %s.%s: %s%n", imp.module(), imp.name(), describeImport(module, imp));
        }

        int importedFunctions = imports.count(ExternalType.FUNCTION);
        var exports = module.exportSection();
        out.printf("exports: %d%n", exports.exportCount());
        for (int i = 0; i < exports.exportCount(); i++) {
            Export e = exports.getExport(i);
            out.printf("  %s: %s%n", e.name(), describeExport(module, e, importedFunctions));
        }

        int defined = module.functionSection().functionCount();
        out.printf("functions: %d (%d imported, %d defined)%n", importedFunctions + defined, importedFunctions, defined);
        long instructions = 0;
        for (FunctionBody body : module.codeSection().functionBodies()) {
            instructions += body.instructions().size();
        }
        out.printf("instructions: %d%n", instructions);
        out.printf("sections: %d%n", sections.size());
        sections.forEach(s -> out.println("  " + s));
        out.flush();
        return Main.OK;
    }

    private static String describeSection(Section s) {
        int id = s.sectionId();
        String name = id >= 0 && id < SECTION_NAMES.length ? SECTION_NAMES[id] : "unknown(" + id + ")";
        if (!(s instanceof RawSection)) {
            return name;
        }
        byte[] contents = ((RawSection) s).contents();
        if (id == 0) {
            name = "custom \"" + customName(contents) + "\"";
        }
        return String.format("%-24s %d bytes", name, contents.length);
    }

    /** The name at the start of a custom section's payload (LEB128 length, UTF-8 bytes). */
    static String customName(byte[] contents) {
        int length = 0;
        int shift = 0;
        int i = 0;
        while (i < contents.length && i < 5) {
            int b = contents[i++] & 0xff;
            length |= (b & 0x7f) << shift;
            shift += 7;
            if ((b & 0x80) == 0) {
                break;
            }
        }
        if (length < 0 || i + length > contents.length) {
            return "?";
        }
        return new String(contents, i, length, StandardCharsets.UTF_8);
    }

    private static String describeImport(WasmModule module, Import imp) {
        if (imp instanceof FunctionImport) {
            return "func " + signature(module.typeSection().getType(((FunctionImport) imp).typeIndex()));
        } else if (imp instanceof TableImport) {
            TableImport t = (TableImport) imp;
            return "table " + typeName(t.entryType()) + " " + limits(t.limits());
        } else if (imp instanceof MemoryImport) {
            return "memory " + limits(((MemoryImport) imp).limits());
        } else if (imp instanceof GlobalImport) {
            GlobalImport g = (GlobalImport) imp;
            return "global " + mutability(g.mutabilityType()) + typeName(g.type());
        } else if (imp instanceof TagImport) {
            return "tag " + signature(module.typeSection().getType(((TagImport) imp).tagType().typeIdx()));
        }
        return imp.importType().name().toLowerCase();
    }

    private static String describeExport(WasmModule module, Export e, int importedFunctions) {
        int index = e.index();
        var imports = module.importSection();
        switch (e.exportType()) {
            case FUNCTION: {
                int typeIndex = -1;
                if (index < importedFunctions) {
                    typeIndex = nthImport(module, ExternalType.FUNCTION, index)
                            .map(i -> ((FunctionImport) i).typeIndex()).orElse(-1);
                } else {
                    typeIndex = module.functionSection().getFunctionType(index - importedFunctions);
                }
                return "func " + (typeIndex < 0 ? "?" : signature(module.typeSection().getType(typeIndex)));
            }
            case TABLE: {
                int imported = imports.count(ExternalType.TABLE);
                if (index < imported) {
                    return "table (imported) " + describeImport(module, nthImport(module, ExternalType.TABLE, index).orElseThrow());
                }
                var t = module.tableSection().getTable(index - imported);
                return "table " + typeName(t.elementType()) + " " + limits(t.limits());
            }
            case MEMORY: {
                int imported = imports.count(ExternalType.MEMORY);
                if (index < imported) {
                    return "memory (imported) " + describeImport(module, nthImport(module, ExternalType.MEMORY, index).orElseThrow());
                }
                return "memory " + module.memorySection().map(m -> limits(m.getMemory(index - imported).limits())).orElse("?");
            }
            case GLOBAL: {
                int imported = imports.count(ExternalType.GLOBAL);
                if (index < imported) {
                    return "global (imported) " + describeImport(module, nthImport(module, ExternalType.GLOBAL, index).orElseThrow());
                }
                var g = module.globalSection().getGlobal(index - imported);
                return "global " + mutability(g.mutabilityType()) + typeName(g.valueType());
            }
            case TAG: {
                int imported = imports.count(ExternalType.TAG);
                if (index < imported) {
                    return "tag (imported)";
                }
                return module.tagSection()
                        .map(ts -> "tag " + signature(module.typeSection().getType(ts.getTag(index - imported).typeIdx())))
                        .orElse("tag");
            }
            default:
                return e.exportType().name().toLowerCase();
        }
    }

    private static java.util.Optional<Import> nthImport(WasmModule module, ExternalType type, int n) {
        return module.importSection().stream().filter(i -> i.importType() == type).skip(n).findFirst();
    }

    static String signature(FunctionType type) {
        return "(" + type.params().stream().map(InfoCommand::typeName).collect(Collectors.joining(", ")) + ") -> ("
                + type.returns().stream().map(InfoCommand::typeName).collect(Collectors.joining(", ")) + ")";
    }

    private static String mutability(MutabilityType m) {
        return m == MutabilityType.Var ? "mut " : "";
    }

    private static String limits(MemoryLimits l) {
        return l.initialPages() + ".." + (l.maximumPages() == MemoryLimits.MAX_PAGES ? "" : l.maximumPages())
                + (l.shared() ? " shared" : "");
    }

    private static String limits(TableLimits l) {
        return l.min() + ".." + (l.max() >= TableLimits.LIMIT_MAX ? "" : Long.toString(l.max()));
    }

    /** Wasm text names of value types. */
    static String typeName(ValType t) {
        if (t.equals(ValType.I32)) {
            return "i32";
        } else if (t.equals(ValType.I64)) {
            return "i64";
        } else if (t.equals(ValType.F32)) {
            return "f32";
        } else if (t.equals(ValType.F64)) {
            return "f64";
        } else if (t.equals(ValType.V128)) {
            return "v128";
        } else if (t.equals(ValType.FuncRef)) {
            return "funcref";
        } else if (t.equals(ValType.ExternRef)) {
            return "externref";
        } else if (t.equals(ValType.ExnRef)) {
            return "exnref";
        } else if (t.equals(ValType.AnyRef)) {
            return "anyref";
        } else if (t.equals(ValType.EqRef)) {
            return "eqref";
        } else if (t.equals(ValType.I31Ref)) {
            return "i31ref";
        } else if (t.equals(ValType.StructRef)) {
            return "structref";
        } else if (t.equals(ValType.ArrayRef)) {
            return "arrayref";
        } else if (t.isReference()) {
            return "(ref " + (t.isNullable() ? "null " : "") + t.typeIdx() + ")";
        }
        return t.toString();
    }
}
