package io.asyncify4j.wasm.validation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.asyncify4j.asyncify.Asyncify;
import io.asyncify4j.asyncify.AsyncifyOptions;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.model.Export;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.Global;
import io.asyncify4j.wasm.model.GlobalType;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.ValType;
import io.asyncify4j.wasm.testutil.Wat;
import io.asyncify4j.wasm.typing.InvalidModuleException;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Modules that decode but do not validate: each is a valid module with one defect planted in its
 * model. The validator names the defect (and, in code, the function and instruction), and the
 * transform rejects the module with the same typed exception (before validation existed, most of these
 * reached the transform and failed there with IndexOutOfBoundsException or ClassCastException).
 */
class ValidatorTest {
    private static final String MODULE = """
            (module
              (import "env" "sleep" (func $sleep (param i32)))
              (memory 1)
              (global $c i32 (i32.const 7))
              (global $m (mut i32) (i32.const 0))
              (table 2 funcref)
              (elem (i32.const 0) $work)
              (func $work (export "work") (param $p i32) (result i32) (local $l i32)
                (local.set $l (i32.add (local.get $p) (global.get $c)))
                (call $sleep (local.get $l))
                (block $b
                  (br_if $b (i32.eqz (local.get $l)))
                  (global.set $m (i32.load (i32.const 0))))
                (local.get $l))
              (func (export "other") (result i32)
                (call $work (i32.const 1))))
            """;
    /** Function index of $work (after one imported function). */
    private static final int WORK = 1;

    private static ModuleModel model() {
        return WasmCodec.decode(Wat.wat(MODULE));
    }

    private static List<Instruction> body(ModuleModel m, int f) {
        return m.definedFunction(f).body();
    }

    /** Plants a defect, then checks the validator and both transform entry points reject it. */
    private static InvalidModuleException rejected(Consumer<ModuleModel> defect) {
        ModuleModel m = model();
        defect.accept(m);
        byte[] bytes = WasmCodec.encode(m);
        InvalidModuleException e = catchThrowableOfType(() -> Validator.validate(m), InvalidModuleException.class);
        assertThat(e).as("validator rejects the module").isNotNull();
        AsyncifyOptions options = AsyncifyOptions.builder().build();
        InvalidModuleException viaModel = catchThrowableOfType(() -> Asyncify.transform(m, options),
                InvalidModuleException.class);
        assertThat(viaModel).as("transform(ModuleModel) rejects it").isNotNull();
        assertThat(viaModel.getMessage()).isEqualTo(e.getMessage());
        InvalidModuleException viaBytes = catchThrowableOfType(() -> Asyncify.transform(bytes, options),
                InvalidModuleException.class);
        assertThat(viaBytes).as("transform(byte[]) rejects it").isNotNull();
        assertThat(viaBytes.getMessage()).isEqualTo(e.getMessage());
        return e;
    }

    @Test
    void theUnchangedModuleValidatesAndTransforms() {
        assertThatCode(() -> Validator.validate(model())).doesNotThrowAnyException();
        assertThatCode(() -> Asyncify.transform(Wat.wat(MODULE), AsyncifyOptions.builder().build()))
                .doesNotThrowAnyException();
    }

    @Test
    void callOfAnUnknownFunctionNamesFunctionAndInstruction() {
        // $work in pre-order: 0 local.get, 1 global.get, 2 i32.add, 3 local.set, 4 local.get, 5 call $sleep.
        InvalidModuleException e = rejected(m -> body(m, WORK).set(5, SimpleInstruction.of(Opcode.CALL, 99)));
        assertThat(e.functionIndex()).isEqualTo(WORK);
        assertThat(e.offset()).isEqualTo(5);
        assertThat(e.getMessage()).contains("unknown function 99", "function 1", "instruction 5", "call");
    }

    @Test
    void operandOfTheWrongType() {
        // local.get $p becomes f32.const: i32.add (instruction 2) finds an f32 below its second operand.
        InvalidModuleException e = rejected(m -> body(m, WORK).set(0, SimpleInstruction.of(Opcode.F32_CONST, 0)));
        assertThat(e.functionIndex()).isEqualTo(WORK);
        assertThat(e.offset()).isEqualTo(2);
        assertThat(e.getMessage()).contains("type mismatch", "expected i32", "found f32");
    }

    @Test
    void resultOfTheWrongTypeAtTheFunctionEnd() {
        InvalidModuleException e = rejected(m -> body(m, WORK).set(body(m, WORK).size() - 1,
                SimpleInstruction.of(Opcode.I64_CONST, 1)));
        assertThat(e.functionIndex()).isEqualTo(WORK);
        assertThat(e.offset()).isEqualTo(-1);
        assertThat(e.getMessage()).contains("type mismatch", "at the end");
    }

    @Test
    void unknownLocalGlobalLabelTableAndMemory() {
        assertThat(rejected(m -> body(m, WORK).set(body(m, WORK).size() - 1, SimpleInstruction.of(Opcode.LOCAL_GET, 5)))
                .getMessage()).contains("unknown local 5");
        assertThat(rejected(m -> body(m, WORK).set(body(m, WORK).size() - 1, SimpleInstruction.of(Opcode.GLOBAL_GET, 9)))
                .getMessage()).contains("unknown global 9");
        assertThat(rejected(m -> body(m, WORK).add(0, SimpleInstruction.of(Opcode.BR, 3))).getMessage())
                .contains("unknown label 3");
        assertThat(rejected(m -> body(m, WORK).add(0, SimpleInstruction.of(Opcode.TABLE_SIZE, 4))).getMessage())
                .contains("unknown table 4");
        assertThat(rejected(m -> body(m, WORK).add(0, SimpleInstruction.of(Opcode.MEMORY_SIZE, 1))).getMessage())
                .contains("unknown memory 1");
    }

    @Test
    void assignmentOfAnImmutableGlobal() {
        InvalidModuleException e = rejected(m -> {
            body(m, WORK).add(0, SimpleInstruction.of(Opcode.I32_CONST, 1));
            body(m, WORK).add(1, SimpleInstruction.of(Opcode.GLOBAL_SET, 0));
        });
        assertThat(e.getMessage()).contains("global is immutable");
        assertThat(e.offset()).isEqualTo(1);
    }

    @Test
    void alignmentLargerThanNatural() {
        InvalidModuleException e = rejected(m -> {
            body(m, WORK).add(0, SimpleInstruction.of(Opcode.I32_CONST, 0));
            body(m, WORK).add(1, SimpleInstruction.of(Opcode.I32_LOAD8_U, 1, 0, 0));
            body(m, WORK).add(2, SimpleInstruction.of(Opcode.DROP));
        });
        assertThat(e.getMessage()).contains("alignment must not be larger than natural");
    }

    @Test
    void undeclaredFunctionReference() {
        // $other (function 2) is exported, so declared; the import (function 0) is not.
        InvalidModuleException e = rejected(m -> {
            body(m, WORK).add(0, SimpleInstruction.of(Opcode.REF_FUNC, 0));
            body(m, WORK).add(1, SimpleInstruction.of(Opcode.DROP));
        });
        assertThat(e.getMessage()).contains("undeclared function reference 0");
    }

    @Test
    void moduleLevelDefects() {
        assertThat(rejected(m -> m.setStartFunction(WORK)).getMessage()).contains("start function 1 must have type [] -> []");
        assertThat(rejected(m -> m.setStartFunction(17)).getMessage()).contains("unknown function 17");
        assertThat(rejected(m -> m.exports().add(new Export("work", ExternalKind.FUNCTION, 2))).getMessage())
                .contains("duplicate export name \"work\"");
        assertThat(rejected(m -> m.exports().add(new Export("g", ExternalKind.GLOBAL, 8))).getMessage())
                .contains("unknown global 8");
        assertThat(rejected(m -> m.globals().add(new Global(new GlobalType(ValType.I32, false),
                List.of(SimpleInstruction.of(Opcode.I64_CONST, 1))))).getMessage())
                .contains("type mismatch", "global 2 initializer");
        assertThat(rejected(m -> m.globals().add(new Global(new GlobalType(ValType.I32, false),
                List.of(SimpleInstruction.of(Opcode.GLOBAL_GET, 1))))).getMessage())
                .contains("constant expression required", "mutable global 1");
        assertThat(rejected(m -> m.globals().add(new Global(new GlobalType(ValType.I32, false),
                List.of(SimpleInstruction.of(Opcode.I32_CONST, 1), SimpleInstruction.of(Opcode.I32_EQZ))))).getMessage())
                .contains("constant expression required: i32_eqz");
        assertThat(rejected(m -> m.tables().set(0, new io.asyncify4j.wasm.model.Table(
                new io.asyncify4j.wasm.model.TableType(ValType.FUNCREF, new io.asyncify4j.wasm.model.Limits(2, 4, true, false)),
                null))).getMessage()).contains("tables cannot be shared (table 0)");
        InvalidModuleException e = rejected(m -> m.functions().get(0).setTypeIndex(40));
        assertThat(e.getMessage()).contains("unknown type 40");
        assertThat(e.functionIndex()).isEqualTo(-1);
    }
}
