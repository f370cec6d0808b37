package io.asyncify4j.asyncify;

import static io.asyncify4j.asyncify.Guest.args;
import static io.asyncify4j.asyncify.Guest.assertSameAsPlain;
import static io.asyncify4j.asyncify.Guest.assertSameAsPlainWithChaos;
import static io.asyncify4j.wasm.model.ValType.EXNREF;
import static io.asyncify4j.wasm.model.ValType.I32;
import static io.asyncify4j.wasm.testutil.Ir.block;
import static io.asyncify4j.wasm.testutil.Ir.export;
import static io.asyncify4j.wasm.testutil.Ir.func;
import static io.asyncify4j.wasm.testutil.Ir.get;
import static io.asyncify4j.wasm.testutil.Ir.i32;
import static io.asyncify4j.wasm.testutil.Ir.ifElse;
import static io.asyncify4j.wasm.testutil.Ir.op;
import static io.asyncify4j.wasm.testutil.Ir.result;
import static io.asyncify4j.wasm.testutil.Ir.seq;
import static io.asyncify4j.wasm.testutil.Ir.set;
import static io.asyncify4j.wasm.testutil.Ir.tryTable;
import static io.asyncify4j.wasm.testutil.Ir.types;
import static org.assertj.core.api.Assertions.assertThat;

import io.asyncify4j.wasm.ir.BlockType;
import io.asyncify4j.wasm.ir.Catch;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Import;
import io.asyncify4j.wasm.model.Limits;
import io.asyncify4j.wasm.model.MemoryType;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.Tag;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code try_table}: suspensions inside its body (directly and in callees), and in code reached through
 * each kind of catch label, with exceptions thrown before and after the suspension. wabt's text parser
 * has no try_table, so the modules are built as IR.
 */
// A mis-transformed loop can spin forever instead of failing: bound every test.
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ExceptionsTest {
    private static final int IO = 0; // env.io (i32) -> i32
    private static final int TICK = 1; // env.tick
    private static final int TAG = 0; // tag $e (i32)

    /** A module with env.io, env.tick, tag $e (i32), and $thrower at index 2. */
    private static ModuleModel base() {
        ModuleModel m = new ModuleModel();
        int io = m.internFuncType(FuncType.of(types(I32), types(I32)));
        int tick = m.internFuncType(FuncType.of(types(), types()));
        m.imports().add(Import.function("env", "io", io));
        m.imports().add(Import.function("env", "tick", tick));
        m.memories().add(new MemoryType(new Limits(1, -1, false, false)));
        m.tags().add(new Tag(m.internFuncType(FuncType.of(types(I32), types()))));
        // $thrower(x): v = io(x); if x & 2: throw $e(v + 1); return v + x
        int thrower = func(m, types(I32), types(I32), types(I32),
                get(0), op(Opcode.CALL, IO), set(1),
                get(0), i32(2), op(Opcode.I32_AND),
                ifElse(BlockType.EMPTY, seq(get(1), i32(1), op(Opcode.I32_ADD), op(Opcode.THROW, TAG)), seq()),
                get(1), get(0), op(Opcode.I32_ADD));
        assertThat(thrower).isEqualTo(THROWER);
        return m;
    }

    private static final int THROWER = 2;

    private static final long[][] XS = {args(0), args(1), args(2), args(3), args(6), args(7)};

    @Test
    void suspendInsideTryBodyAndInCodeReachedThroughCatch() {
        ModuleModel m = base();
        int run = func(m, types(I32), types(I32), types(),
            block(result(I32), // $done
                block(result(I32), // $h
                    tryTable(result(I32), List.of(new Catch(Catch.Kind.CATCH, TAG, 0)),
                        i32(5), get(0), op(Opcode.CALL, IO), op(Opcode.I32_ADD),
                        get(0), i32(1), op(Opcode.I32_AND),
                        ifElse(BlockType.EMPTY, seq(i32(7), op(Opcode.CALL, IO), op(Opcode.THROW, TAG)), seq()),
                        // a callee that suspends, then maybe throws through this try_table
                        get(0), op(Opcode.CALL, THROWER), op(Opcode.I32_ADD)),
                    i32(1000), op(Opcode.I32_ADD), op(Opcode.BR, 1)),
                // reached through the catch label, with the payload on the stack
                i32(3), op(Opcode.CALL, IO), op(Opcode.I32_MUL),
                op(Opcode.CALL, TICK),
                op(Opcode.CALL, IO), i32(2000), op(Opcode.I32_ADD)));
        export(m, "run", run);
        byte[] wasm = Guest.encode(m);
        List<Guest.Run> runs = assertSameAsPlainWithChaos(wasm, "run", XS);
        assertThat(runs.stream().map(r -> r.outcome().failure())).containsOnlyNulls();
        // x = 1 throws from the body, x = 2 from the callee: both reach the catch code and suspend there.
        assertThat(runs.get(1).log()).contains("env.tick[]");
        assertThat(runs.get(2).log()).contains("env.tick[]");
        assertThat(runs.get(0).log()).doesNotContain("env.tick[]");
    }

    @Test
    void catchRefKeepsTheExnrefOnTheStackAndInALocalAcrossASuspension() {
        ModuleModel m = base();
        int pairType = m.internFuncType(FuncType.of(types(), types(I32, EXNREF)));
        // locals: 1 = v (i32), 2 = ex (exnref)
        int run = func(m, types(I32), types(I32), types(I32, EXNREF),
            block(result(I32), // $done
                block(result(I32), // $outer: where the rethrown exception lands
                    block(BlockType.ofTypeIndex(pairType), // $h: [] -> [i32 exnref]
                        tryTable(BlockType.EMPTY, List.of(new Catch(Catch.Kind.CATCH_REF, TAG, 0)),
                            get(0), op(Opcode.CALL, THROWER), op(Opcode.DROP)),
                        i32(-1), op(Opcode.BR, 2)),
                    set(2), set(1),
                    // the exnref lives on the operand stack and in a local across two suspensions
                    get(2), get(1), op(Opcode.CALL, IO), set(1), op(Opcode.CALL, TICK), set(2),
                    tryTable(BlockType.EMPTY, List.of(new Catch(Catch.Kind.CATCH, TAG, 0)),
                        get(2), op(Opcode.THROW_REF)),
                    op(Opcode.UNREACHABLE)),
                // the original payload, rethrown: combine it with what io returned
                op(Opcode.CALL, IO), get(1), op(Opcode.I32_XOR)));
        export(m, "run", run);
        List<Guest.Run> runs = assertSameAsPlainWithChaos(Guest.encode(m), "run", XS);
        assertThat(runs.get(2).log()).hasSize(4); // thrower's io, io(payload), tick, io(rethrown payload)
    }

    @Test
    void catchAllAndCatchAllRef() {
        ModuleModel m = base();
        // catch_all: nothing on the stack at the label; then code that suspends.
        int all = func(m, types(I32), types(I32), types(I32),
            block(result(I32),
                block(BlockType.EMPTY,
                    tryTable(BlockType.EMPTY, List.of(new Catch(Catch.Kind.CATCH_ALL, -1, 0)),
                        get(0), op(Opcode.CALL, THROWER), set(1)),
                    get(1), op(Opcode.BR, 1)),
                i32(40), get(0), op(Opcode.CALL, IO), op(Opcode.CALL, TICK), op(Opcode.I32_ADD)));
        export(m, "all", all);
        // catch_all_ref: the exnref is kept in a local across suspensions, then rethrown and caught by tag.
        int allRef = func(m, types(I32), types(I32), types(EXNREF),
            block(result(I32), // $done
                block(result(I32), // $outer
                    block(result(EXNREF), // $h
                        tryTable(BlockType.EMPTY, List.of(new Catch(Catch.Kind.CATCH_ALL_REF, -1, 0)),
                            get(0), op(Opcode.CALL, THROWER), op(Opcode.DROP)),
                        i32(-7), op(Opcode.BR, 2)),
                    set(1),
                    get(0), op(Opcode.CALL, IO), op(Opcode.DROP), op(Opcode.CALL, TICK),
                    tryTable(BlockType.EMPTY, List.of(new Catch(Catch.Kind.CATCH, TAG, 0)),
                        get(1), op(Opcode.THROW_REF)),
                    op(Opcode.UNREACHABLE)),
                i32(100), op(Opcode.CALL, IO), op(Opcode.I32_ADD)));
        export(m, "allRef", allRef);
        byte[] wasm = Guest.encode(m);
        assertSameAsPlainWithChaos(wasm, "all", XS);
        List<Guest.Run> runs = assertSameAsPlainWithChaos(wasm, "allRef", XS);
        assertThat(runs.get(2).log()).containsExactly("env.io[2]", "env.io[2]", "env.tick[]",
                runs.get(2).log().get(3));
    }

    @Test
    void localReadOnlyByTheHandlerSurvivesASuspensionInACalleeThatThenThrows() {
        // $keep is dead on the normal path after the call (br straight out of the function) but read
        // by the code at the catch label: when the callee suspends and, once resumed, throws, the
        // handler must find $keep restored, so the frame saved at that call site must hold it.
        ModuleModel m = base();
        int run = func(m, types(I32), types(I32), types(I32),
            get(0), i32(7), op(Opcode.I32_MUL), i32(3), op(Opcode.I32_ADD), set(1),
            block(result(I32), // $done
                block(result(I32), // $h
                    tryTable(BlockType.EMPTY, List.of(new Catch(Catch.Kind.CATCH, TAG, 0)),
                        get(0), op(Opcode.CALL, THROWER), op(Opcode.BR, 2)),
                    op(Opcode.UNREACHABLE)),
                get(1), op(Opcode.I32_ADD)));
        export(m, "run", run);
        List<Guest.Run> runs = assertSameAsPlainWithChaos(Guest.encode(m), "run", XS);
        assertThat(runs.get(2).outcome().failure()).isNull(); // x = 2: thrown and caught
    }

    @Test
    void exceptionEscapingAfterASuspensionPropagatesToTheHost() {
        ModuleModel m = base();
        int run = func(m, types(I32), types(I32), types(),
                i32(1), get(0), op(Opcode.CALL, THROWER), op(Opcode.I32_ADD));
        export(m, "run", run);
        List<Guest.Run> runs = assertSameAsPlain(Guest.encode(m), "run", args(1), args(2), args(5));
        assertThat(runs.get(0).outcome().failure()).isNull();
        assertThat(runs.get(1).outcome().failure()).contains("WasmException");
        assertThat(runs.get(2).outcome().failure()).isNull();
    }

    @Test
    void tryTableWithParamsAndResultsAroundASuspension() {
        ModuleModel m = base();
        int bt = m.internFuncType(FuncType.of(types(I32, I32), types(I32, I32)));
        int run = func(m, types(I32), types(I32), types(I32),
            block(result(I32),
                i32(9), get(0),
                tryTable(BlockType.ofTypeIndex(bt), List.of(new Catch(Catch.Kind.CATCH, TAG, 0)),
                    op(Opcode.CALL, THROWER), set(1), i32(3), op(Opcode.I32_MUL), get(1)),
                op(Opcode.I32_SUB), op(Opcode.BR, 0)),
            op(Opcode.CALL, IO));
        export(m, "run", run);
        assertSameAsPlainWithChaos(Guest.encode(m), "run", XS);
    }
}
