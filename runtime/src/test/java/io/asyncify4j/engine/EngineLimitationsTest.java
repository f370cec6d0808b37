package io.asyncify4j.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.asyncify4j.wasm.testutil.Wat;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.ValType;

/**
 * Limitations of the engine (Endive 1.0.x) that asyncify4j works around, each pinned here: when an
 * engine upgrade fixes one, its test fails, and the workaround it names can go.
 */
class EngineLimitationsTest {

    /** The compiler only where it can run this runtime's modules (Endive 1.0.x; see the endive-latest profile). */
    private static void assumeRuns(Engines.Kind kind) {
        assumeTrue(kind == Engines.Kind.INTERPRETER || Engines.compilerSupported(),
                "Endive's compiler " + Engines.compilerVersion() + " cannot run runtime " + Engines.version());
    }

    private static String outcome(Runnable r) {
        try {
            r.run();
            return "ok";
        } catch (RuntimeException | StackOverflowError e) {
            return e.getClass().getSimpleName();
        }
    }

    /**
     * A self tail call ({@code return_call} of the calling function) in a function with declared
     * locals crashes Endive 1.0.x's interpreter (its frame reset reads one argument per local; the
     * compiler runs it). Workaround: {@code Asyncify.splitSelfTailCalls} (instrumentation adds locals)
     * gives such functions a twin and makes them tail-call each other.
     */
    @ParameterizedTest
    @EnumSource(Engines.Kind.class)
    void selfTailCallInAFunctionWithDeclaredLocals(Engines.Kind kind) {
        assumeRuns(kind);
        byte[] wasm = Wat.watAll("""
                (module
                  (func $count (export "count") (param $n i32) (param $acc i32) (result i32)
                    (local $t i32)
                    (local.set $t (i32.add (local.get $acc) (i32.const 1)))
                    (if (result i32) (i32.eqz (local.get $n))
                      (then (local.get $acc))
                      (else (return_call $count (i32.sub (local.get $n) (i32.const 1)) (local.get $t))))))
                """);
        Instance instance = Engines.builder(Engines.parse(wasm), ImportValues.builder().build(), kind).build();
        long[][] result = new long[1][];
        String outcome = outcome(() -> result[0] = instance.export("count").apply(5, 0));
        if (kind == Engines.Kind.INTERPRETER) {
            assertThat(outcome).as("still broken on the interpreter (else drop splitSelfTailCalls)")
                    .isEqualTo("ArrayIndexOutOfBoundsException");
        } else {
            assertThat(outcome).isEqualTo("ok");
            assertThat(result[0]).containsExactly(5);
        }
    }

    /**
     * v128 values handed from one host function to another, directly and through a local: Endive
     * 1.0.x's interpreter swaps a v128's halves on {@code local.set}, which the binding states in
     * {@link Engines#swapsV128HalvesOnLocalSet} (so the transform passes v128
     * inputs of a may-unwind call through locals in both copies of a function,
     * {@code FunctionInstrumenter.inputsSaved}), and its compiler refuses host functions with v128
     * parameters or results (so asyncified modules with v128 values run on the interpreter; the
     * transform saves them through host imports there, {@code AsyncifyOptions.v128ViaHost}).
     */
    @ParameterizedTest
    @EnumSource(Engines.Kind.class)
    void v128HalvesThroughHostFunctionsAndLocals(Engines.Kind kind) {
        assumeRuns(kind);
        byte[] wasm = Wat.wat("""
                (module
                  (import "env" "get" (func $get (result v128)))
                  (import "env" "take" (func $take (param v128)))
                  (func (export "direct") (call $take (call $get)))
                  (func (export "local") (local $v v128) (local.set $v (call $get)) (call $take (local.get $v))))
                """);
        List<String> seen = new ArrayList<>();
        ImportValues imports = ImportValues.builder()
                .addFunction(new HostFunction("env", "get", FunctionType.of(List.of(), List.of(ValType.V128)),
                        (inst, args) -> new long[] {1, 2}))
                .addFunction(new HostFunction("env", "take", FunctionType.of(List.of(ValType.V128), List.of()),
                        (inst, args) -> {
                            seen.add(args[0] + "," + args[1]);
                            return null;
                        }))
                .build();
        if (kind == Engines.Kind.COMPILER) {
            assertThat(outcome(() -> Engines.builder(Engines.parse(wasm), imports, kind).build()))
                    .as("the compiler still refuses v128 host functions").isEqualTo("IllegalArgumentException");
            return;
        }
        Instance instance = Engines.builder(Engines.parse(wasm), imports, kind).build();
        instance.export("direct").apply();
        instance.export("local").apply();
        if (Engines.swapsV128HalvesOnLocalSet()) {
            assertThat(seen).as("halves swapped through a local only").containsExactly("1,2", "2,1");
        } else {
            assertThat(seen).as("no swap (Engines.swapsV128HalvesOnLocalSet is false for " + Engines.version() + ")")
                    .containsExactly("1,2", "1,2");
        }
    }

    /**
     * Fixed in Endive: {@code table.init} with a source offset above 2^31 (found by the mutation fuzzer
     * on Chicory 1.7.5, which indexed the segment as a signed int and escaped with an
     * ArrayIndexOutOfBoundsException) is a typed trap. {@link EngineErrors#thrownByTheEngine} stays as
     * a safety net for such engine bugs in guest code (tested below on a synthetic exception).
     */
    @ParameterizedTest
    @EnumSource(Engines.Kind.class)
    void tableInitWithAHugeSourceOffset(Engines.Kind kind) {
        assumeRuns(kind);
        byte[] wasm = Wat.wat("""
                (module (table 1 funcref) (elem $e func $f) (func $f)
                  (func (export "init") (param i32) (table.init $e (i32.const 0) (local.get 0) (i32.const 1))))
                """);
        Instance instance = Engines.builder(Engines.parse(wasm), ImportValues.builder().build(), kind).build();
        Throwable[] thrown = new Throwable[1];
        try {
            instance.export("init").apply(0x8000_0000L);
        } catch (RuntimeException e) {
            thrown[0] = e;
        }
        assertThat(thrown[0]).isInstanceOf(run.endive.runtime.WasmRuntimeException.class)
                .hasMessageContaining("out of bounds table access");
        assertThat(EngineErrors.thrownByTheEngine(thrown[0])).isFalse();
    }

    @org.junit.jupiter.api.Test
    void compilerSupportFollowsTheRuntimeVersion() {
        assertThat(Engines.compilerSupported()).isEqualTo(Engines.version().startsWith("1.0."));
        if (!Engines.compilerSupported()) {
            byte[] wasm = Wat.wat("(module (func (export \"f\")))");
            assertThat(outcome(() -> Engines.builder(Engines.parse(wasm), ImportValues.builder().build(),
                    Engines.Kind.COMPILER).build())).isEqualTo("UnsupportedOperationException");
        }
    }

    @org.junit.jupiter.api.Test
    void javaExceptionsRaisedInsideTheEngineAreTraps() {
        RuntimeException fromEngine = new ArrayIndexOutOfBoundsException("Index -1");
        fromEngine.setStackTrace(new StackTraceElement[] {
            new StackTraceElement("java.util.Objects", "checkIndex", "Objects.java", 1),
            new StackTraceElement("run.endive.runtime.InterpreterMachine", "eval", "InterpreterMachine.java", 1)});
        RuntimeException fromHost = new ArrayIndexOutOfBoundsException("Index -1");
        fromHost.setStackTrace(new StackTraceElement[] {
            new StackTraceElement("com.example.Plugin", "apply", "Plugin.java", 1),
            new StackTraceElement("run.endive.runtime.InterpreterMachine", "eval", "InterpreterMachine.java", 1)});
        assertThat(EngineErrors.isTrap(fromEngine)).isTrue();
        assertThat(EngineErrors.isTrap(fromHost)).as("a host function's own exception passes through").isFalse();
        assertThat(EngineErrors.isTrap(new IllegalStateException("host"))).isFalse();
    }
}
