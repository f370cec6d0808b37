package io.asyncify4j.cli;

import io.asyncify4j.asyncify.Asyncify;
import io.asyncify4j.asyncify.AsyncifyAbi;
import io.asyncify4j.asyncify.AsyncifyOptions;
import io.asyncify4j.wasm.binary.WasmFormatException;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.Import;
import java.nio.file.Path;

/** Load-time asyncify for modules that drive unwinding and rewinding themselves (pure-wasm mode). */
final class PureWasmAsyncify {
    private PureWasmAsyncify() {}

    static boolean importsRuntime(byte[] wasm) {
        try {
            for (Import i : WasmCodec.decode(wasm).imports()) {
                if (i.kind() == ExternalKind.FUNCTION && i.module().equals(AsyncifyAbi.RUNTIME_MODULE)) {
                    return true;
                }
            }
            return false;
        } catch (WasmFormatException e) {
            return false; // the engine will report what is wrong with it
        }
    }

    static byte[] transform(byte[] wasm, Path file) {
        try {
            return Asyncify.transform(wasm, AsyncifyOptions.builder().pureWasm(true).build());
        } catch (WasmFormatException e) {
            throw CliException.badInput("cannot asyncify " + file + ": " + e.getMessage(), e);
        }
    }
}
