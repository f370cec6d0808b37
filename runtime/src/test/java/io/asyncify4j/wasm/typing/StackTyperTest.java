package io.asyncify4j.wasm.typing;

import static io.asyncify4j.wasm.model.ValType.F32;
import static io.asyncify4j.wasm.model.ValType.F64;
import static io.asyncify4j.wasm.model.ValType.I32;
import static io.asyncify4j.wasm.model.ValType.I64;
import static io.asyncify4j.wasm.model.ValType.UNKNOWN;
import static io.asyncify4j.wasm.model.ValType.V128;
import static io.asyncify4j.wasm.testutil.Ir.block;
import static io.asyncify4j.wasm.testutil.Ir.find;
import static io.asyncify4j.wasm.testutil.Ir.func;
import static io.asyncify4j.wasm.testutil.Ir.get;
import static io.asyncify4j.wasm.testutil.Ir.i32;
import static io.asyncify4j.wasm.testutil.Ir.i64;
import static io.asyncify4j.wasm.testutil.Ir.op;
import static io.asyncify4j.wasm.testutil.Ir.result;
import static io.asyncify4j.wasm.testutil.Ir.tryTable;
import static io.asyncify4j.wasm.testutil.Ir.types;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.ir.BlockType;
import io.asyncify4j.wasm.ir.Catch;
import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import io.asyncify4j.wasm.model.ArrayType;
import io.asyncify4j.wasm.model.FieldType;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.HeapType;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.RecGroup;
import io.asyncify4j.wasm.model.StructType;
import io.asyncify4j.wasm.model.SubType;
import io.asyncify4j.wasm.model.Tag;
import io.asyncify4j.wasm.model.ValType;
import io.asyncify4j.wasm.testutil.Wat;
import java.util.List;
import org.junit.jupiter.api.Test;

class StackTyperTest {

    /** A decoded module and the typing of one of its functions. */
    private record Typed(ModuleModel module, List<Instruction> body, FunctionTyping typing) {
        StackState before(Opcode op, int nth) {
            return typing.before(find(body, op, nth));
        }

        StackState before(Opcode op) {
            return before(op, 0);
        }

        StackState end() {
            return typing.atEnd(body);
        }
    }

    private static Typed typeWat(String wat, int funcIndex) {
        ModuleModel m = WasmCodec.decode(Wat.wat(wat));
        return new Typed(m, m.definedFunction(funcIndex).body(), StackTyper.type(m, funcIndex));
    }

    private static Typed typeModel(ModuleModel m, int funcIndex) {
        return new Typed(m, m.definedFunction(funcIndex).body(), StackTyper.type(m, funcIndex));
    }

    private static void assertState(StackState s, List<ValType> stack, int[] frames, boolean unreachable) {
        assertThat(s.stack()).as("stack of %s", s).containsExactlyElementsOf(stack);
        assertThat(s.frameHeights()).as("frame heights of %s", s).containsExactly(frames);
        assertThat(s.unreachable()).as("unreachable in %s", s).isEqualTo(unreachable);
    }

    private static int[] frames(int... h) {
        return h;
    }

    @Test
    void straightLineCode() {
        Typed t = typeWat("(module (func (param i32) (result i64) local.get 0 i64.extend_i32_s))", 0);
        assertState(t.before(Opcode.LOCAL_GET), List.of(), frames(0), false);
        assertState(t.before(Opcode.I64_EXTEND_I32_S), List.of(I32), frames(0), false);
        assertState(t.end(), List.of(I64), frames(0), false);
        assertThat(t.end().height()).isEqualTo(1);
        assertThat(t.end().fromTop(0)).isEqualTo(I64);
        assertThat(t.end().frameBase()).isZero();
    }

    @Test
    void localsParamsAndGlobals() {
        Typed t = typeWat("""
            (module (global $g (mut f32) (f32.const 0))
              (func (param i64) (local f64 v128)
                local.get 0 local.get 2 local.get 1
                local.tee 1 global.get $g
                drop drop drop drop
                f32.const 1 global.set $g))
            """, 0);
        assertState(t.before(Opcode.LOCAL_TEE), List.of(I64, V128, F64), frames(0), false);
        assertState(t.before(Opcode.DROP), List.of(I64, V128, F64, F32), frames(0), false);
        assertState(t.before(Opcode.GLOBAL_SET), List.of(F32), frames(0), false);
        assertState(t.end(), List.of(), frames(0), false);
    }

    @Test
    void multiValueBlockSeesItsParamsAboveTheEnclosingValues() {
        Typed t = typeWat("""
            (module (func (result f64 i64)
              f64.const 1.5
              i32.const 1 i32.const 2
              (block (param i32 i32) (result i64)
                i32.add
                i64.extend_i32_u)))
            """, 0);
        StructuredInstruction b = (StructuredInstruction) find(t.body(), Opcode.BLOCK);
        assertState(t.typing().before(b), List.of(F64, I32, I32), frames(0), false);
        assertState(t.before(Opcode.I32_ADD), List.of(F64, I32, I32), frames(0, 1), false);
        assertState(t.before(Opcode.I64_EXTEND_I32_U), List.of(F64, I32), frames(0, 1), false);
        assertState(t.typing().atEnd(b.body()), List.of(F64, I64), frames(0, 1), false);
        assertState(t.end(), List.of(F64, I64), frames(0), false);
    }

    @Test
    void ifElseArmsStartFromTheParams() {
        Typed t = typeWat("""
            (module (func (param i32) (result f32 i64)
              f32.const 0
              i64.const 7
              local.get 0
              (if (param i64) (result i64)
                (then i64.const 1 i64.add)
                (else i64.const 2 i64.mul))))
            """, 0);
        IfInstruction iff = (IfInstruction) find(t.body(), Opcode.IF);
        assertState(t.typing().before(iff), List.of(F32, I64, I32), frames(0), false);
        assertState(t.typing().before(iff.thenBody().get(0)), List.of(F32, I64), frames(0, 1), false);
        assertState(t.typing().before(iff.elseBody().get(0)), List.of(F32, I64), frames(0, 1), false);
        assertState(t.typing().before(iff.elseBody().get(1)), List.of(F32, I64, I64), frames(0, 1), false);
        assertState(t.typing().atEnd(iff.thenBody()), List.of(F32, I64), frames(0, 1), false);
        assertState(t.typing().atEnd(iff.elseBody()), List.of(F32, I64), frames(0, 1), false);
        assertState(t.end(), List.of(F32, I64), frames(0), false);
    }

    @Test
    void ifWithoutElseHasAnEmptyElseArm() {
        Typed t = typeWat("(module (func (param i32) local.get 0 (if (then nop))))", 0);
        IfInstruction iff = (IfInstruction) find(t.body(), Opcode.IF);
        assertThat(iff.elseBody()).isEmpty();
        assertState(t.typing().atEnd(iff.elseBody()), List.of(), frames(0, 0), false);
        assertState(t.typing().before(iff.thenBody().get(0)), List.of(), frames(0, 0), false);
    }

    @Test
    void enclosingValuesStayVisibleBelowNestedBlocks() {
        Typed t = typeWat("""
            (module (func (result i32 i64 f32)
              i32.const 1
              (block (result i64 f32)
                i64.const 2
                (block (result f32)
                  f32.const 3))))
            """, 0);
        assertState(t.before(Opcode.F32_CONST), List.of(I32, I64), frames(0, 1, 2), false);
        StructuredInstruction inner = (StructuredInstruction) find(t.body(), Opcode.BLOCK, 1);
        assertState(t.typing().atEnd(inner.body()), List.of(I32, I64, F32), frames(0, 1, 2), false);
        assertState(t.end(), List.of(I32, I64, F32), frames(0), false);
    }

    @Test
    void loopLabelsTakeTheParams() {
        Typed t = typeWat("""
            (module (func (param i32) (result i32)
              local.get 0
              (loop (param i32) (result i32)
                i32.const 1 i32.sub
                local.tee 0
                local.get 0
                br_if 0)))
            """, 0);
        assertState(t.before(Opcode.BR_IF), List.of(I32, I32), frames(0, 0), false);
        StructuredInstruction loop = (StructuredInstruction) find(t.body(), Opcode.LOOP);
        assertState(t.typing().atEnd(loop.body()), List.of(I32), frames(0, 0), false);
    }

    @Test
    void unreachableCodeAfterUnreachable() {
        Typed t = typeWat("(module (func (result i32) unreachable i32.add))", 0);
        assertState(t.before(Opcode.UNREACHABLE), List.of(), frames(0), false);
        assertState(t.before(Opcode.I32_ADD), List.of(), frames(0), true);
        assertState(t.end(), List.of(I32), frames(0), true);
    }

    @Test
    void unreachableCodeAfterBrKeepsTheEnclosingValues() {
        Typed t = typeWat("""
            (module (func (result i64 i32)
              i64.const 3
              (block (result i32)
                i32.const 1
                br 0
                i32.const 7
                i32.add)))
            """, 0);
        assertState(t.before(Opcode.BR), List.of(I64, I32), frames(0, 1), false);
        assertState(t.before(Opcode.I32_CONST, 1), List.of(I64), frames(0, 1), true);
        assertState(t.before(Opcode.I32_ADD), List.of(I64, I32), frames(0, 1), true);
        StructuredInstruction b = (StructuredInstruction) find(t.body(), Opcode.BLOCK);
        assertState(t.typing().atEnd(b.body()), List.of(I64, I32), frames(0, 1), true);
        assertState(t.end(), List.of(I64, I32), frames(0), false);
    }

    @Test
    void poppingPastTheBaseInUnreachableCodeYieldsUnknown() {
        // (block (result i32) unreachable select nop i32.const 5 i32.const 0 select): built directly, as
        // wabt refuses an untyped select of two unknown operands.
        ModuleModel m = new ModuleModel();
        int f = func(m, types(), types(I32), types(),
            block(result(I32),
                op(Opcode.UNREACHABLE), op(Opcode.SELECT), op(Opcode.NOP),
                i32(5), i32(0), op(Opcode.SELECT)));
        Typed t = typeModel(m, f);
        assertState(t.before(Opcode.SELECT, 0), List.of(), frames(0, 0), true);
        assertState(t.before(Opcode.NOP), List.of(UNKNOWN), frames(0, 0), true);
        // the second select pops 0, 5 and the unknown: the known operand gives the type
        assertState(t.before(Opcode.SELECT, 1), List.of(UNKNOWN, I32, I32), frames(0, 0), true);
        StructuredInstruction b = (StructuredInstruction) find(t.body(), Opcode.BLOCK);
        assertState(t.typing().atEnd(b.body()), List.of(I32), frames(0, 0), true);
        assertState(t.end(), List.of(I32), frames(0), false);
        Typed r = typeWat("(module (func (result i32) (block (result i32) i32.const 1 return)))", 0);
        assertState(r.typing().atEnd(((StructuredInstruction) r.body().get(0)).body()), List.of(), frames(0, 0), true);
        Typed u = typeWat("(module (func (result i64) unreachable i64.const 1 i64.add))", 0);
        assertState(u.before(Opcode.I64_ADD), List.of(I64), frames(0), true);
        assertState(u.end(), List.of(I64), frames(0), true);
    }

    @Test
    void brTableAndReturnMakeTheRestUnreachable() {
        Typed t = typeWat("""
            (module (func (param i32) (result i32)
              (block (result i32)
                (block
                  local.get 0
                  local.get 0
                  br_table 1 1
                  drop)
                i32.const 1)))
            """, 0);
        assertState(t.before(Opcode.BR_TABLE), List.of(I32, I32), frames(0, 0, 0), false);
        assertState(t.before(Opcode.DROP), List.of(), frames(0, 0, 0), true);
    }

    @Test
    void callAndCallIndirectUseTheSignature() {
        Typed t = typeWat("""
            (module
              (type $t (func (param i32 f32) (result i64 f64)))
              (table 1 funcref)
              (func $g (type $t) i64.const 0 f64.const 0)
              (func (result i64 f64 i64 f64)
                i32.const 1 f32.const 2 call $g
                i32.const 1 f32.const 2 i32.const 0 call_indirect (type $t)))
            """, 1);
        assertState(t.before(Opcode.CALL), List.of(I32, F32), frames(0), false);
        assertState(t.before(Opcode.I32_CONST, 1), List.of(I64, F64), frames(0), false);
        assertState(t.before(Opcode.CALL_INDIRECT), List.of(I64, F64, I32, F32, I32), frames(0), false);
        assertState(t.end(), List.of(I64, F64, I64, F64), frames(0), false);
    }

    @Test
    void selectUntypedAndTyped() {
        Typed t = typeWat("""
            (module (func (result f64 funcref)
              f64.const 1 f64.const 2 i32.const 0 select
              ref.null func ref.null func i32.const 1 (select (result funcref))))
            """, 0);
        assertState(t.before(Opcode.REF_NULL), List.of(F64), frames(0), false);
        assertState(t.end(), List.of(F64, ValType.FUNCREF), frames(0), false);
    }

    @Test
    void vectorsAndReferences() {
        Typed t = typeWat("""
            (module
              (type $ft (func (param i32)))
              (table $tab 2 externref)
              (func $f (type $ft))
              (elem declare func $f)
              (func (result v128 i32 funcref externref i32 i32)
                v128.const i64x2 1 2
                v128.const i64x2 3 4
                i8x16.eq
                v128.const i64x2 5 6
                i32x4.extract_lane 1
                ref.func $f
                i32.const 0 table.get $tab
                ref.null extern ref.is_null
                table.size $tab))
            """, 1);
        assertState(t.before(Opcode.I8x16_EQ), List.of(V128, V128), frames(0), false);
        assertState(t.before(Opcode.REF_FUNC), List.of(V128, I32), frames(0), false);
        StackState afterRefFunc = t.before(Opcode.I32_CONST, 0);
        ValType funcRef = afterRefFunc.fromTop(0);
        assertThat(funcRef.isRef()).isTrue();
        assertThat(funcRef.nullable()).as("ref.func is non-nullable").isFalse();
        assertThat(funcRef.heapType()).as("typed by the function's type index").isEqualTo(0);
        assertState(t.before(Opcode.REF_IS_NULL), List.of(V128, I32, ValType.ref(false, 0), ValType.EXTERNREF,
                ValType.ref(true, HeapType.EXTERN)), frames(0), false);
        assertState(t.end(), List.of(V128, I32, ValType.ref(false, 0), ValType.EXTERNREF, I32, I32), frames(0),
                false);
    }

    @Test
    void memoryAddressTypesFollowTheMemory() {
        ModuleModel m = WasmCodec.decode(Wat.watAll("""
            (module (memory $a 1) (memory $b i64 1)
              (func (result i32 i64 i64)
                (i32.load $a (i32.const 0))
                (i64.load $b (i64.const 0))
                (memory.size $b)))
            """));
        Typed t = typeModel(m, 0);
        assertState(t.before(Opcode.I64_LOAD), List.of(I32, I64), frames(0), false);
        assertState(t.before(Opcode.MEMORY_SIZE), List.of(I32, I64), frames(0), false);
        assertState(t.end(), List.of(I32, I64, I64), frames(0), false);
    }

    @Test
    void gcStructGetOnPackedFieldsGivesI32() {
        ModuleModel m = new ModuleModel();
        m.recGroups().add(new RecGroup(List.of(
                new SubType(false, List.of(), new StructType(List.of(new FieldType(ValType.PACKED_I8, true),
                        new FieldType(ValType.PACKED_I16, false), new FieldType(I64, true)))),
                new SubType(true, List.of(0), new StructType(List.of(new FieldType(ValType.PACKED_I8, true),
                        new FieldType(ValType.PACKED_I16, false), new FieldType(I64, true),
                        new FieldType(F32, false))))), true));
        m.recGroups().add(new RecGroup(List.of(SubType.plain(new ArrayType(new FieldType(ValType.PACKED_I16, true)))),
                false));
        int f = func(m, types(), types(I32, I32, I64, I32, I32), types(ValType.ref(true, 0)),
            op(Opcode.STRUCT_NEW_DEFAULT, 1), op(Opcode.LOCAL_SET, 0),
            get(0), op(Opcode.STRUCT_GET_S, 0, 0),
            get(0), op(Opcode.STRUCT_GET_U, 0, 1),
            get(0), op(Opcode.STRUCT_GET, 0, 2),
            i32(7), i32(3), op(Opcode.ARRAY_NEW, 2), i32(1), op(Opcode.ARRAY_GET_U, 2),
            get(0), op(Opcode.REF_CAST, 1), op(Opcode.REF_TEST_NULL, 1));
        Typed t = typeModel(m, f);
        assertState(t.before(Opcode.LOCAL_SET), List.of(ValType.ref(false, 1)), frames(0), false);
        assertState(t.before(Opcode.LOCAL_GET, 1), List.of(I32), frames(0), false);
        assertState(t.before(Opcode.LOCAL_GET, 2), List.of(I32, I32), frames(0), false);
        assertState(t.before(Opcode.I32_CONST, 0), List.of(I32, I32, I64), frames(0), false);
        assertState(t.before(Opcode.I32_CONST, 2), List.of(I32, I32, I64, ValType.ref(false, 2)), frames(0), false);
        assertState(t.before(Opcode.REF_TEST_NULL), List.of(I32, I32, I64, I32, ValType.ref(false, 1)), frames(0),
                false);
        assertState(t.end(), List.of(I32, I32, I64, I32, I32), frames(0), false);
    }

    @Test
    void gcCastsBranchesAndI31() {
        ModuleModel m = new ModuleModel();
        m.recGroups().add(new RecGroup(List.of(
                new SubType(false, List.of(), new StructType(List.of(new FieldType(I32, false)))),
                new SubType(true, List.of(0), new StructType(List.of(new FieldType(I32, false))))), true));
        ValType anyRef = ValType.ref(true, HeapType.ANY);
        ValType nullable0 = ValType.ref(true, 0);
        int passThrough = m.internFuncType(FuncType.of(types(nullable0), types(nullable0)));
        int consume = m.internFuncType(FuncType.of(types(nullable0), types()));
        int f = func(m, types(anyRef), types(I32), types(),
            block(result(ValType.ref(false, 1)),
                get(0), op(Opcode.BR_ON_CAST, 1, 0, HeapType.ANY, 1),
                op(Opcode.REF_CAST_NULL, 0),
                block(BlockType.ofTypeIndex(passThrough),
                    op(Opcode.BR_ON_CAST_FAIL, 1, 0, 0, 1),
                    op(Opcode.DROP), op(Opcode.UNREACHABLE)),
                block(BlockType.ofTypeIndex(consume),
                    op(Opcode.BR_ON_NULL, 0),
                    op(Opcode.DROP)),
                op(Opcode.UNREACHABLE)),
            op(Opcode.STRUCT_GET, 1, 0),
            op(Opcode.REF_I31), op(Opcode.I31_GET_U));
        Typed t = typeModel(m, f);
        assertState(t.before(Opcode.BR_ON_CAST), List.of(anyRef), frames(0, 0), false);
        // br_on_cast falls through with the source type, br_on_cast_fail with the target type
        assertState(t.before(Opcode.REF_CAST_NULL), List.of(anyRef), frames(0, 0), false);
        assertState(t.before(Opcode.BR_ON_CAST_FAIL), List.of(nullable0), frames(0, 0, 0), false);
        assertState(t.before(Opcode.DROP, 0), List.of(ValType.ref(false, 1)), frames(0, 0, 0), false);
        // br_on_null leaves the non-null reference
        assertState(t.before(Opcode.BR_ON_NULL), List.of(nullable0), frames(0, 0, 0), false);
        assertState(t.before(Opcode.DROP, 1), List.of(ValType.ref(false, 0)), frames(0, 0, 0), false);
        assertState(t.before(Opcode.UNREACHABLE, 1), List.of(), frames(0, 0), false);
        assertState(t.before(Opcode.STRUCT_GET), List.of(ValType.ref(false, 1)), frames(0), false);
        assertState(t.before(Opcode.REF_I31), List.of(I32), frames(0), false);
        assertState(t.before(Opcode.I31_GET_U), List.of(ValType.ref(false, HeapType.I31)), frames(0), false);
        assertState(t.end(), List.of(I32), frames(0), false);
    }

    @Test
    void functionReferencesAndExceptionHandling() {
        ModuleModel m = new ModuleModel();
        int t0 = m.internFuncType(FuncType.of(types(I32), types(I64)));
        m.tags().add(new Tag(m.internFuncType(FuncType.of(types(F32, I32), types()))));
        ValType nullableT0 = ValType.ref(true, t0);
        int f = func(m, types(nullableT0), types(I64), types(),
            block(result(I64),
                block(BlockType.ofTypeIndex(m.internFuncType(FuncType.of(types(), types(F32, I32, ValType.EXNREF)))),
                    tryTable(BlockType.EMPTY, List.of(new Catch(Catch.Kind.CATCH_REF, 0, 0)),
                        i32(1), get(0), op(Opcode.REF_AS_NON_NULL), op(Opcode.CALL_REF, t0),
                        op(Opcode.BR, 2)),
                    op(Opcode.UNREACHABLE)),
                op(Opcode.THROW_REF)));
        Typed t = typeModel(m, f);
        assertState(t.before(Opcode.REF_AS_NON_NULL), List.of(I32, nullableT0), frames(0, 0, 0, 0), false);
        assertState(t.before(Opcode.CALL_REF), List.of(I32, ValType.ref(false, t0)), frames(0, 0, 0, 0), false);
        assertState(t.before(Opcode.BR), List.of(I64), frames(0, 0, 0, 0), false);
        assertState(t.before(Opcode.THROW_REF), List.of(F32, I32, ValType.EXNREF), frames(0, 0), false);
        StructuredInstruction outer = (StructuredInstruction) t.body().get(0);
        assertState(t.typing().atEnd(outer.body()), List.of(), frames(0, 0), true);
        assertState(t.end(), List.of(I64), frames(0), false);
    }

    @Test
    void invalidCodeIsReportedWithTheFunctionName() {
        ModuleModel m = new ModuleModel();
        int f = func(m, types(), types(I32), types(), op(Opcode.I32_ADD));
        assertThatThrownBy(() -> StackTyper.type(m, f)).isInstanceOf(InvalidModuleException.class)
                .hasMessageContaining("operand stack underflow").hasMessageContaining("func[0]");
        int g = func(m, types(), types(), types(), block(BlockType.EMPTY, i32(1)));
        assertThatThrownBy(() -> StackTyper.type(m, g)).isInstanceOf(InvalidModuleException.class)
                .hasMessageContaining("values remain");
        int h = func(m, types(), types(), types(), op(Opcode.BR, 1));
        assertThatThrownBy(() -> StackTyper.type(m, h)).isInstanceOf(InvalidModuleException.class)
                .hasMessageContaining("unknown label");
        int k = func(m, types(), types(), types(), op(Opcode.LOCAL_GET, 3), op(Opcode.DROP));
        assertThatThrownBy(() -> StackTyper.type(m, k)).isInstanceOf(InvalidModuleException.class)
                .hasMessageContaining("unknown local");
    }

    @Test
    void importedFunctionsShiftTheIndexSpace() {
        Typed t = typeWat("""
            (module
              (import "env" "h" (func $h (param i64) (result f32)))
              (func (result f32) i64.const 1 call $h))
            """, 1);
        assertThat(t.module().importedFunctionCount()).isEqualTo(1);
        assertState(t.before(Opcode.CALL), List.of(I64), frames(0), false);
        assertState(t.end(), List.of(F32), frames(0), false);
    }
}
