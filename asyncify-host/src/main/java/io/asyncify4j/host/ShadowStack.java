package io.asyncify4j.host;

import io.asyncify4j.wasm.binary.BinaryReader;
import io.asyncify4j.wasm.binary.WasmFormatException;
import io.asyncify4j.wasm.model.Export;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.NameSection;
import java.util.OptionalInt;

/** Recognises modules that keep a C shadow stack in a global (clang's {@code __stack_pointer}). */
final class ShadowStack {
    static final String NAME = "__stack_pointer";

    private ShadowStack() {}

    private static int namedGlobal(byte[] nameMap) {
        try {
            BinaryReader r = new BinaryReader(nameMap);
            int n = r.index();
            for (int i = 0; i < n; i++) {
                int index = r.index();
                if (r.name().equals(NAME)) {
                    return index;
                }
            }
        } catch (WasmFormatException e) {
            // a malformed name map names nothing
        }
        return -1;
    }

    /** The global holding the shadow-stack pointer, if the module names one (export or name section). */
    static OptionalInt stackPointerGlobal(ModuleModel m) {
        for (Export e : m.exports()) {
            if (e.kind() == ExternalKind.GLOBAL && e.name().equals(NAME)) {
                return OptionalInt.of(e.index());
            }
        }
        NameSection names = m.names();
        if (names == null) {
            return OptionalInt.empty();
        }
        for (NameSection.RawSubsection s : names.otherSubsections()) {
            if (s.id() == 7) { // the global names subsection
                int index = namedGlobal(s.content());
                if (index >= 0) {
                    return OptionalInt.of(index);
                }
            }
        }
        return OptionalInt.empty();
    }
}
