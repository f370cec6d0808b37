package io.asyncify4j.host;

import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import io.asyncify4j.asyncify.Asyncify;
import io.asyncify4j.asyncify.AsyncifyOptions;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.ModuleModel;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A module asyncified for a given set of options, cached so that many instances of one module (a
 * scheduler running thousands of guests) transform and parse it once. Chicory's parsed module is
 * immutable and shared between instances.
 */
record PreparedModule(ModuleModel model, WasmModule parsed) {
    private static final int CACHE_SIZE = 32;
    private static final Map<String, PreparedModule> CACHE = Collections.synchronizedMap(
            new LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, PreparedModule> eldest) {
                    return size() > CACHE_SIZE;
                }
            });

    static PreparedModule of(byte[] input, AsyncifyOptions options) {
        String key = digest(input) + "|" + options.cacheKey();
        PreparedModule cached = CACHE.get(key);
        if (cached != null) {
            return cached;
        }
        ModuleModel model = WasmCodec.decode(input, options.loadLimits());
        Asyncify.transform(model, options);
        byte[] out = WasmCodec.encode(model);
        PreparedModule prepared = new PreparedModule(model, Parser.parse(out));
        CACHE.put(key, prepared);
        return prepared;
    }

    private static String digest(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
