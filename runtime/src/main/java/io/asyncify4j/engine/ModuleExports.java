package io.asyncify4j.engine;

import run.endive.wasm.WasmModule;

/** Questions about a parsed module's exports that Endive's API does not answer directly. */
public final class ModuleExports {
    private ModuleExports() {}

    /** Whether {@code module} exports something named {@code name}. */
    public static boolean has(WasmModule module, String name) {
        for (int i = 0; i < module.exportSection().exportCount(); i++) {
            if (module.exportSection().getExport(i).name().equals(name)) {
                return true;
            }
        }
        return false;
    }
}
