package io.asyncify4j.host;

import io.asyncify4j.wasm.binary.BinaryReader;
import io.asyncify4j.wasm.binary.WasmFormatException;
import io.asyncify4j.wasm.model.Export;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.NameSection;

/** Recognises modules that keep a C shadow stack in a global (clang's {@code __stack_pointer}). */
final class ShadowStack {
    static final String NAME = "__stack_pointer";

    private ShadowStack() {}

    private static boolean namesGlobal(byte[] nameMap) {
        try {
            BinaryReader r = new BinaryReader(nameMap);
            int n = r.index();
            for (int i = 0; i < n; i++) {
                r.index();
                if (r.name().equals(NAME)) {
                    return true;
                }
            }
        } catch (WasmFormatException e) {
            // a malformed name map names nothing
        }
        return false;
    }

    static boolean detect(ModuleModel m) {
        for (Export e : m.exports()) {
            if (e.kind() == ExternalKind.GLOBAL && e.name().equals(NAME)) {
                return true;
            }
        }
        NameSection names = m.names();
        if (names == null) {
            return false;
        }
        for (NameSection.RawSubsection s : names.otherSubsections()) {
            if (s.id() == 7 && namesGlobal(s.content())) { // the global names subsection
                return true;
            }
        }
        return false;
    }
}
