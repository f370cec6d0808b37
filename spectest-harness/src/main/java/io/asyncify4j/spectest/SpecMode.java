package io.asyncify4j.spectest;

import io.asyncify4j.wasm.codec.WasmCodec;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The ways the harness runs a script. Every mode applies the same assertions and the same
 * expected-failure list; modes differ only in how modules are loaded and driven ({@link ModePipeline}).
 */
public enum SpecMode {
    /** Modules run exactly as Endive loads them: the baseline. */
    PLAIN("modules run as Endive loads them") {
        @Override
        public ModePipeline newPipeline() {
            return wasm -> wasm;
        }
    },

    /**
     * Every module that must load goes through {@link WasmCodec#roundTrip} (our decoder and encoder)
     * before Endive parses it; modules that must be rejected may be rejected by our decoder.
     */
    ROUNDTRIP("every module goes through WasmCodec.roundTrip before Endive loads it") {
        @Override
        public ModePipeline newPipeline() {
            return new ModePipeline() {
                @Override
                public byte[] prepare(byte[] wasm) {
                    return WasmCodec.roundTrip(wasm);
                }

                @Override
                public String rejects(byte[] wasm) {
                    try {
                        WasmCodec.roundTrip(wasm);
                        return null;
                    } catch (RuntimeException e) {
                        return "rejected by WasmCodec: " + e.getClass().getSimpleName() + ": " + e.getMessage();
                    }
                }
            };
        }
    },

    /**
     * Every module is asyncified with every import and indirect call assumed to unwind (the worst
     * case: every function that can reach one is instrumented); no suspension happens.
     */
    ASYNCIFY("every module asyncified, all imports and indirect calls may unwind") {
        @Override
        public ModePipeline newPipeline() {
            return new AsyncifyPipeline(false, 0, 0);
        }
    },

    /**
     * As {@link #ASYNCIFY}, plus a suspension point at every function entry and loop header; host
     * imports and suspension points suspend the guest (unwind to the host, rewind, continue) at the
     * first points of every call and at a seeded random subset after that.
     */
    CHAOS("asyncified with suspension points everywhere; the host suspends and resumes the guest") {
        @Override
        public ModePipeline newPipeline() {
            return new AsyncifyPipeline(true, CHAOS_SEED, 0);
        }
    },

    /**
     * Every module metered with fuel in a tiny quantum ({@link #PREEMPT_QUANTUM} units); each time it
     * runs out the guest is refilled and, at the first points of every call and a seeded, geometrically
     * thinning subset after that (as in chaos mode), preempted: unwound to the host and rewound.
     */
    PREEMPT("fuel-metered with a tiny quantum; the host preempts the guest when it runs out") {
        @Override
        public ModePipeline newPipeline() {
            return new AsyncifyPipeline(false, CHAOS_SEED, PREEMPT_QUANTUM);
        }
    };

    /** Fuel units per quantum in {@link #PREEMPT} mode. */
    public static final long PREEMPT_QUANTUM = 100;

    /** Seed of chaos mode's random choice of suspension points (fixed, so runs are reproducible). */
    public static final long CHAOS_SEED = 0x5eed_a51cL;

    private final String description;

    SpecMode(String description) {
        this.description = description;
    }

    /** A fresh pipeline for one script run. */
    public abstract ModePipeline newPipeline();

    /** The lower-case name used on the command line and in reports. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public String description() {
        return description;
    }

    /** Parses a mode name case-insensitively. */
    public static SpecMode parse(String name) {
        for (SpecMode m : values()) {
            if (m.id().equalsIgnoreCase(name.strip())) {
                return m;
            }
        }
        throw new IllegalArgumentException(
                "unknown mode '" + name + "' (expected one of: "
                        + Arrays.stream(values()).map(SpecMode::id).collect(Collectors.joining(", "))
                        + ")");
    }
}
