package io.asyncify4j.spectest;

import io.asyncify4j.engine.References;
import io.asyncify4j.engine.Engines;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.wasm.WasmModule;

/**
 * How one spec-test mode loads and drives modules. A fresh pipeline is made for every script run
 * ({@link SpecMode#newPipeline()}), so a pipeline may keep per-script state (a random seed, counters).
 *
 * <p>The byte transform ({@link #prepare}) is the heart of a mode: it is applied to every module the
 * script expects to load — {@code module} commands and the modules of {@code assert_trap},
 * {@code assert_unlinkable} and {@code assert_uninstantiable}. Modules the script expects to be
 * rejected ({@code assert_malformed}, {@code assert_invalid}) are not transformed: they are first
 * offered to {@link #rejects} (a mode whose own decoder rejects them has rejected them correctly), and
 * otherwise handed to Endive unchanged, which must then reject them.
 *
 * <p>The remaining hooks let a mode drive instances (e.g. resume suspended guests until they finish);
 * their defaults run Endive directly.
 */
public interface ModePipeline {

    /** The bytes to hand to Endive for a module that must load; may throw to report a transform failure. */
    byte[] prepare(byte[] wasm);

    /**
     * Offers a module the script expects to be rejected to this mode's own decoder.
     *
     * @return why this mode rejects it, or {@code null} when it accepts it (Endive then gets the
     *     original bytes and must reject them)
     */
    default String rejects(byte[] wasm) {
        return null;
    }

    /** Parses (and validates) prepared bytes. */
    default WasmModule parse(byte[] wasm) {
        return Engines.parse(wasm);
    }

    /** Instantiates a parsed module (running its start function). */
    default Instance instantiate(WasmModule module, ImportValues imports) {
        return Engines.instantiate(module, imports);
    }

    /** How many times this pipeline suspended and resumed a guest (asyncify and chaos modes). */
    default long suspensions() {
        return 0;
    }

    /**
     * Calls an exported function; v128 values take two slots, low half first; references as host
     * handles ({@link References}: the engine gets externref objects).
     */
    default long[] invoke(Instance instance, String export, long[] args) {
        return References.exportWithHandles(instance, export).apply(args);
    }
}
