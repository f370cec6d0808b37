package io.asyncify4j.asyncify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.asyncify4j.wasm.binary.BinaryWriter;
import io.asyncify4j.wasm.binary.WasmFormatException;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.ir.BlockInstruction;
import io.asyncify4j.wasm.ir.BlockType;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.testutil.HostileModules;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Small hostile modules at load time: nested loops, long call chains and deep nesting load in time and
 * heap linear in their size, within a thread's default stack; beyond the {@link LoadLimits} they fail
 * with a {@link LoadLimitExceededException} naming the limit. Bounded: each case fails rather than hangs.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LoadLimitsTest {
    /** The options AsyncInstance uses for a metered guest with one async import. */
    private static AsyncifyOptions.Builder hostOptions() {
        return AsyncifyOptions.builder().unwindingImports(List.of("env.sleep"))
                .dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY).importState(true).deferStart(true)
                .v128ViaHost(true).fuel(true);
    }

    private static byte[] transform(byte[] wasm) {
        return Asyncify.transform(wasm, hostOptions().build());
    }

    @Test
    void nestedLoopsGrowTheOutputLinearlyNotQuadratically() {
        // Split loops copied each nested loop body once per enclosing level: 400 loops gave 2.4 MB.
        int[] depths = {100, 200, 400};
        long[] out = new long[depths.length];
        for (int i = 0; i < depths.length; i++) {
            byte[] in = HostileModules.nestedLoops(depths[i]);
            out[i] = transform(in).length;
            assertThat(out[i]).as("output of %d nested loops", depths[i]).isLessThan(120L * in.length + 65_536);
        }
        assertThat(out[2]).as("doubling the depth at most doubles the output (+10%%)").isLessThan(out[1] * 22 / 10);
        assertThat(out[1]).isLessThan(out[0] * 22 / 10);
    }

    @Test
    void aLongCallChainIsAnalysedInLinearSpaceWithItsExplanation() {
        // Each function's reason was its whole chain as a string: 20,000 functions ran out of heap.
        int n = 20_000;
        ModuleModel m = WasmCodec.decode(HostileModules.callChain(n));
        AsyncifyReport r = Asyncify.transform(m, hostOptions().fuel(false).build());
        assertThat(r.instrumented()).hasSize(n);
        long reasonChars = r.instrumented().stream().mapToLong(f -> f.reason().length()).sum();
        assertThat(reasonChars).as("direct reasons only").isLessThan(40L * n);
        assertThat((long) r.describe().length()).as("chains cut in the description").isLessThan(400L * n);
        // The whole explanation stays available, link by link (parent pointers).
        AsyncifyReport.InstrumentedFunction first = r.instrumented().get(0);
        assertThat(first.index()).isEqualTo(1);
        assertThat(first.via()).isEqualTo(2);
        String chain = r.chain(first.index());
        assertThat(chain.split(" -> ")).hasSize(n + 1);
        assertThat(chain).endsWith("import env.sleep may unwind");
        assertThat(r.describe()).contains(" -> ...");
    }

    @Test
    void tenThousandNestedBlocksLoadOnASmallCallerStack() throws Exception {
        byte[] in = HostileModules.nestedBlocks(LoadLimits.DEFAULT_MAX_NESTING_DEPTH);
        // Decoding, transforming and encoding from a thread with a 512 KiB stack (the small JVM default).
        byte[] out = onThread(512 * 1024, () -> {
            ModuleModel m = WasmCodec.decode(in);
            Asyncify.transform(m, hostOptions().build());
            return WasmCodec.encode(m);
        });
        assertThat((long) out.length).isLessThan(20L * in.length);
        assertThat(WasmCodec.decode(onThread(512 * 1024, () -> WasmCodec.roundTrip(in)))
                .functions()).hasSize(1);
    }

    @Test
    void nestingBeyondTheLimitIsRefusedWhileDecoding() {
        for (int depth : new int[] {LoadLimits.DEFAULT_MAX_NESTING_DEPTH + 1, 100_000}) {
            byte[] in = HostileModules.nestedLoops(depth);
            assertThatThrownBy(() -> transform(in)).isInstanceOfSatisfying(LoadLimitExceededException.class, e -> {
                assertThat(e.limit()).isEqualTo(LoadLimits.NESTING_DEPTH);
                assertThat(e.value()).isEqualTo(LoadLimits.DEFAULT_MAX_NESTING_DEPTH + 1);
                assertThat(e.maximum()).isEqualTo(LoadLimits.DEFAULT_MAX_NESTING_DEPTH);
                assertThat(e.functionIndex()).isEqualTo(1);
                assertThat(e).isInstanceOf(WasmFormatException.class).hasMessageContaining("nesting depth");
            });
        }
        AsyncifyOptions lower = hostOptions().loadLimits(LoadLimits.defaults().withMaxNestingDepth(50)).build();
        assertThat(Asyncify.transform(HostileModules.nestedBlocks(50), lower)).isNotEmpty();
        assertThatThrownBy(() -> Asyncify.transform(HostileModules.nestedBlocks(51), lower))
                .isInstanceOf(LoadLimitExceededException.class).hasMessageContaining("nesting depth 51");
    }

    @Test
    void aModelNestedBeyondTheLimitIsRefusedBeforeTheTransformWalksIt() {
        // A model built (or decoded with other limits) in memory: checked without recursion.
        ModuleModel m = WasmCodec.decode(HostileModules.nestedBlocks(1));
        List<Instruction> body = m.functions().get(0).body();
        for (int i = 0; i < 200_000; i++) {
            List<Instruction> inner = List.copyOf(body);
            body.clear();
            body.add(BlockInstruction.block(BlockType.EMPTY, inner));
        }
        assertThatThrownBy(() -> Asyncify.transform(m, hostOptions().build()))
                .isInstanceOfSatisfying(LoadLimitExceededException.class, e -> {
                    assertThat(e.limit()).isEqualTo(LoadLimits.NESTING_DEPTH);
                    assertThat(e.value()).isEqualTo(200_001);
                    assertThat(e.functionIndex()).isEqualTo(1);
                });
    }

    @Test
    void moduleSizeFunctionCountAndLocalsAreCheckedBeforeDecodingThem() {
        byte[] chain = HostileModules.callChain(100);
        LoadLimits defaults = LoadLimits.defaults();
        assertThatThrownBy(() -> WasmCodec.decode(chain, defaults.withMaxModuleBytes(chain.length - 1)))
                .isInstanceOfSatisfying(LoadLimitExceededException.class, e -> {
                    assertThat(e.limit()).isEqualTo(LoadLimits.MODULE_BYTES);
                    assertThat(e.value()).isEqualTo(chain.length);
                    assertThat(e.functionIndex()).isEqualTo(-1);
                });
        assertThatThrownBy(() -> WasmCodec.decode(chain, defaults.withMaxFunctions(100)))
                .isInstanceOfSatisfying(LoadLimitExceededException.class, e -> {
                    assertThat(e.limit()).isEqualTo(LoadLimits.FUNCTIONS);
                    assertThat(e.value()).isEqualTo(101); // the import and 100 defined functions
                });
        assertThat(WasmCodec.decode(chain, defaults.withMaxFunctions(101)).functionCount()).isEqualTo(101);

        // 4,000,000,000 locals declared in 6 bytes: refused before a list of them is built.
        BinaryWriter body = new BinaryWriter().u32(1).u32(4_000_000_000L).u8(0x7F).u8(0x0B);
        byte[] locals = HostileModules.module(new BinaryWriter[] {body});
        assertThatThrownBy(() -> WasmCodec.decode(locals)).isInstanceOfSatisfying(LoadLimitExceededException.class, e -> {
            assertThat(e.limit()).isEqualTo(LoadLimits.LOCALS_PER_FUNCTION);
            assertThat(e.maximum()).isEqualTo(LoadLimits.DEFAULT_MAX_LOCALS_PER_FUNCTION);
            assertThat(e.functionIndex()).isEqualTo(1);
        });
        BinaryWriter fine = new BinaryWriter().u32(1).u32(LoadLimits.DEFAULT_MAX_LOCALS_PER_FUNCTION).u8(0x7F).u8(0x0B);
        assertThat(WasmCodec.decode(HostileModules.module(new BinaryWriter[] {fine})).functions().get(0).locals())
                .hasSize(LoadLimits.DEFAULT_MAX_LOCALS_PER_FUNCTION);
    }

    @Test
    void instrumentedCodeBeyondTheLimitIsRefusedFunctionByFunction() {
        byte[] chain = HostileModules.callChain(1_000);
        AsyncifyOptions small = hostOptions().loadLimits(LoadLimits.defaults().withMaxOutputInstructions(5_000)).build();
        assertThatThrownBy(() -> Asyncify.transform(chain, small))
                .isInstanceOfSatisfying(LoadLimitExceededException.class, e -> {
                    assertThat(e.limit()).isEqualTo(LoadLimits.OUTPUT_INSTRUCTIONS);
                    assertThat(e.value()).isGreaterThan(5_000).isLessThan(5_000 + 1_000);
                    assertThat(e.functionIndex()).isBetween(2, 1_000);
                });
    }

    @Test
    @Timeout(value = 20, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // took 46 s before the fix
    void manyImportsAndManyCallsAreNotMultiplied() {
        // The imported-function count was recounted over all imports at every call site looked up:
        // 30,000 imports called once each took imports x calls steps (several of them per call).
        byte[] in = HostileModules.manyImports(30_000, 1);
        ModuleModel m = WasmCodec.decode(in);
        AsyncifyReport r = Asyncify.transform(m, hostOptions().fuel(false).build());
        assertThat(r.unwindingCallSites()).isEqualTo(1); // only env.sleep unwinds
        assertThat(m.importedFunctionCount()).isEqualTo(30_000);
        m.imports().remove(1); // a function import
        assertThat(m.importedFunctionCount()).as("the count follows changes to the imports").isEqualTo(29_999);
        m.imports().set(0, io.asyncify4j.wasm.model.Import.global("env", "g",
                new io.asyncify4j.wasm.model.GlobalType(io.asyncify4j.wasm.model.ValType.I32, false)));
        assertThat(m.importedFunctionCount()).isEqualTo(29_998);
    }

    @Test
    void aHighOperandStackIsTypedInLinearSpace() {
        // The typer copied the whole operand stack at every instruction: 100,000 values pushed and
        // dropped made 200,000 copies of up to 100,000 entries (tens of GB).
        int n = 100_000;
        BinaryWriter body = new BinaryWriter().u32(0);
        for (int i = 0; i < n; i++) {
            body.u8(0x41).u8(0x01); // i32.const 1
        }
        for (int i = 0; i < n; i++) {
            body.u8(0x1A); // drop
        }
        body.u8(0x10).u32(0).u8(0x0B); // call $sleep
        byte[] in = HostileModules.module(new BinaryWriter[] {body});
        ModuleModel m = WasmCodec.decode(in);
        AsyncifyReport r = Asyncify.transform(m, hostOptions().build());
        assertThat(r.unwindingCallSites()).isGreaterThanOrEqualTo(1);
        assertThat((long) WasmCodec.encode(m).length).isLessThan(4L * in.length);
    }

    private static <T> T onThread(long stackBytes, Supplier<T> work) throws Exception {
        AtomicReference<T> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(null, () -> {
            try {
                result.set(work.get());
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "small-stack", stackBytes);
        t.start();
        t.join();
        if (failure.get() != null) {
            throw new AssertionError("failed on a " + stackBytes + "-byte stack", failure.get());
        }
        return result.get();
    }
}
