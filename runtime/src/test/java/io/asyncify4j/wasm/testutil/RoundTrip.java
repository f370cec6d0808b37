package io.asyncify4j.wasm.testutil;

import static org.assertj.core.api.Assertions.assertThat;

import run.endive.runtime.Instance;
import run.endive.wasm.Parser;
import run.endive.wasm.WasmModule;
import run.endive.wasm.types.FunctionBody;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.ModuleModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/** The round-trip properties every test module is held to, and comparisons against Endive. */
public final class RoundTrip {
    private RoundTrip() {}

    /** The decoded input, its encoding, and the model decoded back from that encoding. */
    public record Result(ModuleModel model, byte[] encoded, ModuleModel redecoded) {}

    /**
     * decode → encode → decode gives a structurally equal model; encoding that model again is
     * byte-identical (the encoding is idempotent); encoding does not disturb the model.
     */
    public static Result check(byte[] original) {
        ModuleModel first = WasmCodec.decode(original);
        String firstDump = ModuleDump.of(first);
        byte[] encoded = WasmCodec.encode(first);
        assertThat(ModuleDump.of(first)).as("encoding must not change the model").isEqualTo(firstDump);
        ModuleModel second = WasmCodec.decode(encoded);
        assertThat(ModuleDump.of(second)).as("decode(encode(decode(x))) structurally equals decode(x)")
                .isEqualTo(firstDump);
        byte[] again = WasmCodec.encode(second);
        assertThat(again).as("re-encoding is byte-identical").isEqualTo(encoded);
        assertThat(WasmCodec.roundTrip(original)).as("roundTrip = encode(decode(x))").isEqualTo(encoded);
        return new Result(first, encoded, second);
    }

    /** Checks {@link #check} and that Endive parses and validates the encoding, with identical code. */
    public static Result checkWithEngine(byte[] original) {
        Result r = check(original);
        assertSameEngineCode(original, r.encoded());
        return r;
    }

    public static WasmModule engine(byte[] wasm) {
        return Parser.parse(wasm);
    }

    /**
     * Endive parses both binaries, and every function body has the same locals and the same instruction
     * stream (opcodes and operands).
     */
    public static void assertSameEngineCode(byte[] original, byte[] roundTripped) {
        WasmModule a = Parser.parse(original);
        WasmModule b = Parser.parse(roundTripped);
        FunctionBody[] fa = a.codeSection().functionBodies();
        FunctionBody[] fb = b.codeSection().functionBodies();
        assertThat(fb.length).as("function body count").isEqualTo(fa.length);
        for (int i = 0; i < fa.length; i++) {
            assertThat(fb[i].localTypes()).as("locals of function body %d", i).isEqualTo(fa[i].localTypes());
            assertThat(instructionStream(fb[i])).as("instructions of function body %d", i)
                    .isEqualTo(instructionStream(fa[i]));
        }
    }

    /** Endive's view of a body: each instruction's opcode and operands. */
    public static List<String> instructionStream(FunctionBody body) {
        List<String> out = new ArrayList<>();
        for (var in : body.instructions()) {
            out.add(in.opcode() + Arrays.toString(in.operands()));
        }
        return out;
    }

    /** The outcome of calling an export: its results, or the exception class and message it threw. */
    public record Outcome(long[] results, String failure) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Outcome other && Arrays.equals(results, other.results)
                    && Objects.equals(failure, other.failure);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(results) * 31 + Objects.hashCode(failure);
        }

        @Override
        public String toString() {
            return failure != null ? "threw " + failure : Arrays.toString(results);
        }
    }

    public static Instance instantiate(byte[] wasm) {
        return Instance.builder(Parser.parse(wasm)).build();
    }

    public static Outcome call(Instance instance, String export, long... args) {
        try {
            long[] r = instance.export(export).apply(args);
            return new Outcome(r == null ? new long[0] : r, null);
        } catch (RuntimeException | StackOverflowError e) {
            return new Outcome(null, e.getClass().getName() + ": " + e.getMessage());
        }
    }

    /**
     * Runs {@code export} on fresh instances of both binaries with each argument list (in order, on the same
     * pair of instances) and asserts identical outcomes; returns the outcomes of {@code original}.
     */
    public static List<Outcome> assertSameBehaviour(byte[] original, byte[] roundTripped, String export,
                                                    long[]... argLists) {
        Instance a = instantiate(original);
        Instance b = instantiate(roundTripped);
        List<Outcome> outcomes = new ArrayList<>();
        for (long[] args : argLists) {
            Outcome oa = call(a, export, args);
            Outcome ob = call(b, export, args);
            assertThat(ob).as("%s%s after round trip", export, Arrays.toString(args)).isEqualTo(oa);
            outcomes.add(oa);
        }
        return outcomes;
    }

    public static long[] args(long... a) {
        return a;
    }
}
