package io.asyncify4j.spectest.host;

import run.endive.runtime.ByteBufferMemory;
import run.endive.runtime.GlobalInstance;
import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportGlobal;
import run.endive.runtime.ImportMemory;
import run.endive.runtime.ImportTable;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.runtime.TableInstance;
import run.endive.wasm.WasmModule;
import run.endive.wasm.types.FunctionImport;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.Import;
import run.endive.wasm.types.MemoryLimits;
import run.endive.wasm.types.MutabilityType;
import run.endive.wasm.types.Table;
import run.endive.wasm.types.TableLimits;
import run.endive.wasm.types.ValType;
import run.endive.wasm.types.Value;
import io.asyncify4j.spectest.value.WasmValues;
import java.util.ArrayList;
import java.util.List;

/**
 * The standard {@code spectest} host module of the WebAssembly test suite.
 *
 * <p>Functions {@code print}, {@code print_i32}, {@code print_i64}, {@code print_f32},
 * {@code print_f64}, {@code print_i32_f32}, {@code print_f64_f64}; globals {@code global_i32} (666),
 * {@code global_i64} (666), {@code global_f32} (666.6), {@code global_f64} (666.6); {@code table}
 * (10..20 funcref); {@code memory} (1..2 pages); and {@code shared_memory} (1..2 pages, shared) which
 * the threads proposal scripts import. Every call of {@link #importValues} creates fresh instances, so
 * scripts never share state.
 */
public final class SpectestHost {
    public static final String MODULE = "spectest";

    private SpectestHost() {}

    public static ImportValues importValues(PrintSink sink) {
        return importValues(sink, List.of());
    }

    /**
     * The spectest module, where {@code spectest.print*} functions also take whatever parameters the
     * module declares for them (as Binaryen's wasm-shell allows: {@code (import "spectest" "print"
     * (func (param i32)))}); every argument is printed.
     */
    public static ImportValues lenientImportValues(PrintSink sink, WasmModule module) {
        List<HostFunction> declared = new ArrayList<>();
        for (int i = 0; i < module.importSection().importCount(); i++) {
            Import imp = module.importSection().getImport(i);
            if (imp.module().equals(MODULE) && imp.name().startsWith("print") && imp instanceof FunctionImport f) {
                FunctionType t = module.typeSection().getType(f.typeIndex());
                if (t.returns().isEmpty()) {
                    declared.add(print(sink, imp.name(), t.params().toArray(new ValType[0])));
                }
            }
        }
        return importValues(sink, declared);
    }

    private static ImportValues importValues(PrintSink sink, List<HostFunction> overrides) {
        List<HostFunction> functions = new ArrayList<>(overrides);
        addUnlessDeclared(functions, print(sink, "print"));
        addUnlessDeclared(functions, print(sink, "print_i32", ValType.I32));
        addUnlessDeclared(functions, print(sink, "print_i64", ValType.I64));
        addUnlessDeclared(functions, print(sink, "print_f32", ValType.F32));
        addUnlessDeclared(functions, print(sink, "print_f64", ValType.F64));
        addUnlessDeclared(functions, print(sink, "print_i32_f32", ValType.I32, ValType.F32));
        addUnlessDeclared(functions, print(sink, "print_f64_f64", ValType.F64, ValType.F64));
        return ImportValues.builder()
                .withFunctions(new ArrayList<>(functions))
                .addGlobal(global("global_i32", Value.i32(666)))
                .addGlobal(global("global_i64", Value.i64(666)))
                .addGlobal(global("global_f32", Value.fromFloat(666.6f)))
                .addGlobal(global("global_f64", Value.fromDouble(666.6)))
                .addTable(
                        new ImportTable(
                                MODULE,
                                "table",
                                new TableInstance(new Table(ValType.FuncRef, new TableLimits(10, 20)), Value.REF_NULL_VALUE)))
                .addMemory(new ImportMemory(MODULE, "memory", new ByteBufferMemory(new MemoryLimits(1, 2))))
                .addMemory(new ImportMemory(MODULE, "shared_memory", new ByteBufferMemory(new MemoryLimits(1, 2, true))))
                .build();
    }

    private static void addUnlessDeclared(List<HostFunction> functions, HostFunction standard) {
        if (functions.stream().noneMatch(f -> f.name().equals(standard.name()))) {
            functions.add(standard);
        }
    }

    private static ImportGlobal global(String name, Value value) {
        return new ImportGlobal(MODULE, name, new GlobalInstance(value, MutabilityType.Const));
    }

    private static HostFunction print(PrintSink sink, String name, ValType... params) {
        FunctionType type = FunctionType.of(params, new ValType[0]);
        return new HostFunction(MODULE, name, type, (Instance instance, long... args) -> {
            for (int i = 0; i < params.length; i++) {
                sink.println(format(params[i], args[i]));
            }
            return null;
        });
    }

    /** {@code VALUE : TYPE}, e.g. {@code 1 : i32}, {@code 3.5 : f64}, {@code nan : f32}. */
    public static String format(ValType type, long bits) {
        if (type.equals(ValType.I32)) {
            return (int) bits + " : i32";
        } else if (type.equals(ValType.I64)) {
            return bits + " : i64";
        } else if (type.equals(ValType.F32)) {
            return WasmValues.formatF32((int) bits) + " : f32";
        } else if (type.equals(ValType.F64)) {
            return WasmValues.formatF64(bits) + " : f64";
        }
        return bits + " : " + type;
    }
}
