package io.asyncify4j.wasm.codec;

import io.asyncify4j.wasm.model.ModuleModel;

/** Entry points of the wasm codec: bytes to module model and back. */
public final class WasmCodec {
    private WasmCodec() {}

    /** Decodes a wasm binary; throws {@link io.asyncify4j.wasm.binary.MalformedModuleException} on bad input. */
    public static ModuleModel decode(byte[] wasm) {
        return ModuleDecoder.decode(wasm);
    }

    /**
     * Decodes a wasm binary within {@code limits}; throws
     * {@link io.asyncify4j.asyncify.LoadLimitExceededException} for a module beyond them.
     */
    public static ModuleModel decode(byte[] wasm, io.asyncify4j.asyncify.LoadLimits limits) {
        return ModuleDecoder.decode(wasm, limits);
    }

    public static byte[] encode(ModuleModel module) {
        return ModuleEncoder.encode(module);
    }

    /** Decodes {@code wasm} and encodes the model again; the result behaves exactly like the input. */
    public static byte[] roundTrip(byte[] wasm) {
        return encode(decode(wasm));
    }
}
