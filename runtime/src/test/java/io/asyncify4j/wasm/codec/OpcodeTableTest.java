package io.asyncify4j.wasm.codec;

import static io.asyncify4j.wasm.testutil.Ir.op;
import static org.assertj.core.api.Assertions.assertThat;

import run.endive.wasm.Parser;
import run.endive.wasm.WasmModule;
import run.endive.wasm.types.OpCode;
import run.endive.wasm.types.WasmEncoding;
import io.asyncify4j.wasm.binary.BinaryReader;
import io.asyncify4j.wasm.binary.BinaryWriter;
import io.asyncify4j.wasm.ir.BlockInstruction;
import io.asyncify4j.wasm.ir.BlockType;
import io.asyncify4j.wasm.ir.Catch;
import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Immediates;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.ir.TryTableInstruction;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Function;
import io.asyncify4j.wasm.model.HeapType;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.ValType;
import io.asyncify4j.wasm.testutil.ModuleDump;
import io.asyncify4j.wasm.testutil.RoundTrip;
import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The opcode table against Endive's, and every opcode through the codec with representative (and
 * extreme) immediates, checked against an independent decoder (Endive's parser without validation).
 */
class OpcodeTableTest {

    /** Endive spells these two differently; the codes agree. */
    private static final Map<String, String> CHICORY_NAMES = Map.of("REF_CAST", "CAST_TEST",
            "REF_CAST_NULL", "CAST_TEST_NULL");

    private static int engineCode(Opcode op) {
        return op.isPrefixed() ? op.prefix << 8 | op.code : op.code;
    }

    @Test
    void opcodeTableMatchesTheEngineOneToOne() {
        Set<OpCode> matched = EnumSet.noneOf(OpCode.class);
        for (Opcode op : Opcode.values()) {
            OpCode c = OpCode.byOpCode(engineCode(op));
            assertThat(c).as("Endive knows %s", op).isNotNull();
            assertThat(c.name()).as("name of %s", op).isEqualTo(CHICORY_NAMES.getOrDefault(op.name(), op.name()));
            assertThat(Opcode.of(op.prefix, op.code)).isSameAs(op);
            matched.add(c);
        }
        assertThat(EnumSet.complementOf((EnumSet<OpCode>) matched)).as("Endive opcodes missing from the table")
                .isEmpty();
    }

    @Test
    void immediateShapesMatchTheEnginesSignatures() {
        Map<Immediates, String> expected = Map.ofEntries(
                Map.entry(Immediates.NONE, "[]"),
                Map.entry(Immediates.BLOCK, "[BLOCK_TYPE]"),
                Map.entry(Immediates.TRY_TABLE, "[BLOCK_TYPE, VEC_CATCH]"),
                Map.entry(Immediates.BR_TABLE, "[VEC_VARUINT, VARUINT]"),
                Map.entry(Immediates.INDEX, "[VARUINT]"),
                Map.entry(Immediates.INDEX_INDEX, "[VARUINT, VARUINT]"),
                Map.entry(Immediates.MEMARG, "[MEMARG]"),
                Map.entry(Immediates.MEMARG_LANE, "[MEMARG, VARUINT]"),
                Map.entry(Immediates.LANE, "[BYTE]"),
                Map.entry(Immediates.I32, "[VARSINT32]"),
                Map.entry(Immediates.I64, "[VARSINT64]"),
                Map.entry(Immediates.F32, "[FLOAT32]"),
                Map.entry(Immediates.F64, "[FLOAT64]"),
                Map.entry(Immediates.V128, "[V128]"),
                Map.entry(Immediates.SELECT_TYPES, "[VEC_VALUE_TYPE]"),
                Map.entry(Immediates.HEAP_TYPE, "[VARSINT32]"),
                Map.entry(Immediates.BR_ON_CAST, "[BYTE, VARUINT, VARSINT32, VARSINT32]"),
                Map.entry(Immediates.ZERO_BYTE, "[BYTE]"));
        for (Opcode op : Opcode.values()) {
            List<WasmEncoding> sig = OpCode.signature(OpCode.byOpCode(engineCode(op)));
            assertThat(sig.toString()).as("immediates of %s", op).isEqualTo(expected.get(op.immediates));
        }
    }

    @Test
    void stackSignaturesAreWellFormed() {
        for (Opcode op : Opcode.values()) {
            String sig = op.stackSignature;
            if (sig.equals("*")) {
                continue;
            }
            assertThat(sig).as("signature of %s", op).matches("[aiIfFv]*:[iIfFv]*");
            boolean usesMemory = op.immediates == Immediates.MEMARG || op.immediates == Immediates.MEMARG_LANE;
            assertThat(sig.startsWith("a")).as("address operand of %s", op).isEqualTo(usesMemory);
            assertThat(sig.indexOf('a', 1)).as("address only first in %s", op).isEqualTo(-1);
        }
    }

    // ------------------------------------------------------------------ every opcode through the codec

    /** Sample immediates per shape; memory-accessing opcodes also get a variant on memory 3. */
    private static List<Instruction> samples(Opcode op) {
        return samples(op, true);
    }

    /** With {@code extreme} false, label and index immediates stay small (Endive resolves labels while parsing). */
    private static List<Instruction> samples(Opcode op, boolean extreme) {
        long bigIndex = extreme ? 0xFFFFFFFFL : 2;
        long bigLabel = extreme ? 200 : 3;
        List<Instruction> out = new ArrayList<>();
        switch (op.immediates) {
            case NONE:
            case ZERO_BYTE:
                out.add(op(op));
                break;
            case BLOCK:
                if (op == Opcode.IF) {
                    out.add(new IfInstruction(BlockType.of(ValType.I64), List.of(op(Opcode.NOP)),
                            List.of(op(Opcode.UNREACHABLE))));
                    out.add(new IfInstruction(BlockType.ofTypeIndex(2), List.of(op(Opcode.NOP)), List.of()));
                } else {
                    out.add(new BlockInstruction(op, BlockType.EMPTY, List.of(op(Opcode.NOP))));
                    out.add(new BlockInstruction(op, BlockType.ofTypeIndex(1), List.of()));
                    out.add(new BlockInstruction(op, BlockType.of(ValType.ref(false, 3)), List.of()));
                    if (extreme) {
                        // s33 type indices needing two and three bytes (64 is 0xC0 0x00, not 0x40 = empty)
                        out.add(new BlockInstruction(op, BlockType.ofTypeIndex(64), List.of()));
                        out.add(new BlockInstruction(op, BlockType.ofTypeIndex(100_000), List.of()));
                        out.add(new BlockInstruction(op, BlockType.of(ValType.ref(true, 64)), List.of()));
                    }
                }
                break;
            case TRY_TABLE:
                out.add(new TryTableInstruction(BlockType.of(ValType.EXNREF), List.of(
                        new Catch(Catch.Kind.CATCH, 0, 1), new Catch(Catch.Kind.CATCH_REF, 1, 2),
                        new Catch(Catch.Kind.CATCH_ALL, -1, 0), new Catch(Catch.Kind.CATCH_ALL_REF, -1, 3)),
                        List.of(op(Opcode.NOP))));
                break;
            case BR_TABLE:
                out.add(op(op, 3, 0, bigLabel, 1));
                out.add(op(op, 0));
                break;
            case INDEX:
                out.add(op(op, 0));
                out.add(op(op, bigIndex));
                break;
            case INDEX_INDEX:
                out.add(op(op, 3, 300));
                break;
            case MEMARG:
                out.add(op(op, 0, 0, 0));
                out.add(op(op, extreme ? 3 : 0, 0xFFFFFFFFL, 0));
                out.add(op(op, extreme ? 2 : 0, 17, 3));
                break;
            case MEMARG_LANE:
                out.add(op(op, 0, 16, 0, 1));
                out.add(op(op, extreme ? 1 : 0, 0xFFFFFFFFL, 3, 0));
                break;
            case LANE:
                out.add(op(op, 0));
                out.add(op(op, 15));
                break;
            case I32:
                out.add(op(op, Integer.MIN_VALUE));
                out.add(op(op, Integer.MAX_VALUE));
                out.add(op(op, -1));
                break;
            case I64:
                out.add(op(op, Long.MIN_VALUE));
                out.add(op(op, Long.MAX_VALUE));
                out.add(op(op, -65));
                break;
            case F32:
                out.add(op(op, 0x7FA00001));
                out.add(op(op, 0xFFC00000L | 0xFFFFFFFF00000000L)); // negative NaN, as a sign-extended int
                break;
            case F64:
                out.add(op(op, 0xFFF8000000000123L));
                out.add(op(op, 0x7FF0000000000001L));
                break;
            case V128:
                out.add(op(op, 0x0706050403020100L, 0x0F0E0D0C0B0A0908L));
                out.add(op(op, -1L, Long.MIN_VALUE));
                break;
            case SELECT_TYPES:
                out.add(new SimpleInstruction(op, new long[0], List.of(ValType.FUNCREF)));
                out.add(new SimpleInstruction(op, new long[0], List.of(ValType.ref(true, 3))));
                out.add(new SimpleInstruction(op, new long[0], List.of(ValType.V128)));
                if (extreme) {
                    out.add(new SimpleInstruction(op, new long[0], List.of(ValType.ref(false, 64))));
                    out.add(new SimpleInstruction(op, new long[0], List.of(ValType.ref(true, 100_000),
                            ValType.ref(false, HeapType.I31))));
                }
                break;
            case HEAP_TYPE:
                out.add(op(op, HeapType.FUNC));
                out.add(op(op, HeapType.NOEXN));
                out.add(op(op, 3));
                if (extreme) {
                    out.add(op(op, 64));
                    out.add(op(op, 0xFFFFFFFFL)); // the largest s33 type index
                }
                break;
            case BR_ON_CAST:
                out.add(op(op, 3, 1, HeapType.ANY, 3));
                out.add(op(op, 0, 0, HeapType.EQ, HeapType.I31));
                break;
            default:
                throw new AssertionError(op.immediates);
        }
        return out;
    }

    private static ModuleModel moduleWithBody(List<Instruction> body) {
        ModuleModel m = new ModuleModel();
        m.internFuncType(FuncType.of(List.of(), List.of()));
        m.internFuncType(FuncType.of(List.of(ValType.I32), List.of(ValType.I32, ValType.I64)));
        m.internFuncType(FuncType.of(List.of(ValType.F64), List.of()));
        m.internFuncType(FuncType.of(List.of(), List.of(ValType.I32)));
        m.functions().add(new Function(0, List.of(ValType.I32, ValType.I32, ValType.V128), body));
        return m;
    }

    /** The instruction bytes of the single body of a module made by {@link #moduleWithBody}, final end excluded. */
    static byte[] codeOfOnlyBody(byte[] module) {
        BinaryReader r = new BinaryReader(module);
        r.bytes(8);
        while (true) {
            int id = r.u8();
            BinaryReader s = r.slice(r.index());
            if (id != 10) {
                continue;
            }
            assertThat(s.index()).isEqualTo(1);
            BinaryReader body = s.slice(s.index());
            int groups = body.index();
            for (int g = 0; g < groups; g++) {
                body.u32();
                body.u8();
            }
            byte[] code = body.bytes(body.end() - body.position());
            assertThat(code[code.length - 1]).isEqualTo((byte) 0x0B);
            return java.util.Arrays.copyOf(code, code.length - 1);
        }
    }

    private static byte[] opcodeBytes(Opcode op) {
        BinaryWriter w = new BinaryWriter();
        if (op.isPrefixed()) {
            w.u8(op.prefix).u32(op.code);
        } else {
            w.u8(op.code);
        }
        return w.toByteArray();
    }

    @Test
    void everyOpcodeSurvivesEncodeDecodeWithExtremeImmediates() {
        List<Instruction> all = new ArrayList<>();
        int covered = 0;
        for (Opcode op : Opcode.values()) {
            if (op == Opcode.ELSE || op == Opcode.END) {
                continue; // never IR nodes: structure encodes them
            }
            List<Instruction> samples = samples(op);
            for (Instruction in : samples) {
                // Each instruction alone: it starts with its opcode's bytes and decodes to itself.
                byte[] module = WasmCodec.encode(moduleWithBody(List.of(in)));
                byte[] code = codeOfOnlyBody(module);
                byte[] expectedOpcode = opcodeBytes(op);
                assertThat(java.util.Arrays.copyOf(code, expectedOpcode.length)).as("opcode bytes of %s", in)
                        .isEqualTo(expectedOpcode);
                List<Instruction> back = WasmCodec.decode(module).functions().get(0).body();
                assertThat(ModuleDump.of(back)).as("%s", in).isEqualTo(ModuleDump.of(List.of(in)));
                assertThat(back).hasSize(1);
                assertThat(ModuleDump.sameInstruction(back.get(0), in)).isTrue();
            }
            all.addAll(samples);
            covered++;
        }
        assertThat(covered).isEqualTo(Opcode.values().length - 2);
        // All of them in one body, through the full round-trip properties.
        byte[] module = WasmCodec.encode(moduleWithBody(all));
        RoundTrip.Result r = RoundTrip.check(module);
        assertThat(r.encoded()).isEqualTo(module);
        assertThat(ModuleDump.of(r.model().functions().get(0).body())).isEqualTo(ModuleDump.of(all));
    }

    @Test
    void engineDecodesTheSameOpcodeSequence() {
        // An independent decoder: Endive's parser (validation off) must see the same instruction sequence.
        List<Instruction> all = new ArrayList<>();
        for (Opcode op : Opcode.values()) {
            if (op != Opcode.ELSE && op != Opcode.END) {
                all.addAll(samples(op, false));
            }
        }
        // Enough enclosing blocks for every label used.
        Instruction wrapped = new BlockInstruction(Opcode.BLOCK, BlockType.EMPTY, all);
        for (int i = 0; i < 3; i++) {
            wrapped = new BlockInstruction(Opcode.BLOCK, BlockType.EMPTY, List.of(wrapped));
        }
        all = List.of(wrapped);
        byte[] module = WasmCodec.encode(moduleWithBody(all));
        WasmModule parsed = Parser.builder().withValidation(false).build()
                .parse(() -> new ByteArrayInputStream(module));
        List<run.endive.wasm.types.Instruction> theirs = new ArrayList<>(
                parsed.codeSection().getFunctionBody(0).instructions());
        List<String> engineOps = new ArrayList<>();
        for (var in : theirs) {
            engineOps.add(in.opcode().name());
        }
        List<Instruction> ourNodes = new ArrayList<>();
        List<String> ours = new ArrayList<>();
        linear(all, ours, ourNodes);
        ours.add("END");
        assertThat(engineOps).isEqualTo(ours);
        // Operands: where Endive's layout extends ours, our immediates are a prefix of its operands.
        int compared = 0;
        for (int i = 0; i < ourNodes.size(); i++) {
            if (!(ourNodes.get(i) instanceof SimpleInstruction si)) {
                continue;
            }
            long[] operands = theirs.get(i).operands();
            switch (si.opcode().immediates) {
                case NONE: case ZERO_BYTE: case SELECT_TYPES:
                    continue;
                case F32:
                    assertThat((int) operands[0]).as("%s", si).isEqualTo((int) si.immediate(0));
                    break;
                default:
                    assertThat(java.util.Arrays.copyOf(operands, si.immediateCount())).as("operands of %s", si)
                            .isEqualTo(si.immediates());
            }
            compared++;
        }
        assertThat(compared).isGreaterThan(350);
    }

    private static void linear(List<Instruction> body, List<String> out, List<Instruction> nodes) {
        for (Instruction in : body) {
            out.add(CHICORY_NAMES.getOrDefault(in.opcode().name(), in.opcode().name()));
            nodes.add(in);
            if (in instanceof io.asyncify4j.wasm.ir.StructuredInstruction s) {
                linear(s.body(), out, nodes);
                if (s instanceof IfInstruction i && !i.elseBody().isEmpty()) {
                    out.add("ELSE");
                    nodes.add(null);
                    linear(i.elseBody(), out, nodes);
                }
                out.add("END");
                nodes.add(null);
            }
        }
    }

    @Test
    void memargOnAnotherMemorySetsBitSixAndWritesTheIndex() {
        byte[] code = codeOfOnlyBody(WasmCodec.encode(moduleWithBody(List.of(
                op(Opcode.I32_LOAD, 2, 8, 1),
                op(Opcode.I64_STORE, 3, 0, 0),
                op(Opcode.V128_LOAD8_LANE, 0, 300, 2, 9),
                op(Opcode.I32_ATOMIC_RMW_ADD, 2, 4, 130)))));
        assertThat(code).containsExactly(
                0x28, 0x42, 0x01, 0x08,                   // i32.load align=2|0x40 mem=1 offset=8
                0x37, 0x03, 0x00,                         // i64.store align=3 offset=0, memory 0 implicit
                0xFD, 0x54, 0x40, 0x02, 0xAC, 0x02, 0x09, // v128.load8_lane 0|0x40 mem=2 offset=300 lane=9
                0xFE, 0x1E, 0x42, 0x82, 0x01, 0x04);      // i32.atomic.rmw.add 2|0x40 mem=130 offset=4
    }

    @Test
    void explicitZeroMemoryIndexDecodesToMemoryZero() {
        // A non-canonical memarg naming memory 0 explicitly decodes like the short form.
        ModuleModel m = moduleWithBody(List.of(op(Opcode.I32_LOAD, 2, 8, 0)));
        byte[] canonical = WasmCodec.encode(m);
        byte[] code = codeOfOnlyBody(canonical);
        assertThat(code).containsExactly(0x28, 0x02, 0x08);
        // Rewrite to 0x28 0x42 0x00 0x08: body size and section size grow by one.
        byte[] longForm = replaceOnlyBody(canonical, new byte[] {0x28, 0x42, 0x00, 0x08});
        List<Instruction> back = WasmCodec.decode(longForm).functions().get(0).body();
        assertThat(ModuleDump.of(back)).isEqualTo(ModuleDump.of(m.functions().get(0).body()));
        assertThat(WasmCodec.roundTrip(longForm)).isEqualTo(canonical);
    }

    /** Rebuilds a {@link #moduleWithBody} module with the given instruction bytes. */
    static byte[] replaceOnlyBody(byte[] module, byte[] code) {
        BinaryReader r = new BinaryReader(module);
        BinaryWriter out = new BinaryWriter().bytes(r.bytes(8));
        while (!r.atEnd()) {
            int id = r.u8();
            byte[] content = r.bytes(r.index());
            if (id == 10) {
                BinaryReader s = new BinaryReader(content);
                s.index();
                BinaryReader body = s.slice(s.index());
                int groups = body.index();
                BinaryWriter b = new BinaryWriter().u32(groups);
                for (int g = 0; g < groups; g++) {
                    b.u32(body.u32()).u8(body.u8());
                }
                b.bytes(code).u8(0x0B);
                BinaryWriter sec = new BinaryWriter().u32(1).sized(b);
                content = sec.toByteArray();
            }
            out.u8(id).u32(content.length).bytes(content);
        }
        return out.toByteArray();
    }
}
