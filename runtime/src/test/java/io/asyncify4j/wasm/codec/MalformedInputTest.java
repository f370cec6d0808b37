package io.asyncify4j.wasm.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.asyncify4j.wasm.binary.BinaryWriter;
import io.asyncify4j.wasm.binary.MalformedModuleException;
import io.asyncify4j.wasm.testutil.ModuleBytes;
import java.util.HexFormat;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

/** Malformed binaries are refused with {@link MalformedModuleException} naming where decoding failed. */
class MalformedInputTest {

    private static final String HEADER = "0061736d01000000";

    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> rejects(byte[] wasm, long offset, String message) {
        return assertThatThrownBy(() -> WasmCodec.decode(wasm))
                .isInstanceOf(MalformedModuleException.class)
                .hasMessageContaining(message)
                .satisfies(e -> assertThat(((MalformedModuleException) e).offset()).as("offset").isEqualTo(offset));
    }

    // ------------------------------------------------------------------ header

    @Test
    void badMagic() {
        rejects(hex("0061736e01000000"), 0, "magic header not detected");
        rejects(hex("0161736d01000000"), 0, "magic header not detected");
        rejects(new byte[0], 0, "magic header not detected");
        rejects(hex("006173"), 0, "magic header not detected");
        rejects(hex("3c3f786d6c"), 0, "magic header not detected");
    }

    @Test
    void badVersion() {
        rejects(hex("0061736d02000000"), 4, "unknown binary version");
        rejects(hex("0061736d01000001"), 4, "unknown binary version");
        rejects(hex("0061736d0d000100"), 4, "unknown binary version"); // the component-model layer
        rejects(hex("0061736d0100"), 4, "unknown binary version");
    }

    @Test
    void headerOnlyIsAnEmptyModule() {
        assertThat(WasmCodec.decode(hex(HEADER)).functions()).isEmpty();
        assertThat(WasmCodec.roundTrip(hex(HEADER))).isEqualTo(hex(HEADER));
    }

    // ------------------------------------------------------------------ section framing

    @Test
    void truncatedSection() {
        rejects(hex(HEADER + "01 05 01 60 00 00"), 8, "unexpected end");        // content shorter than its size
        rejects(hex(HEADER + "01"), 9, "unexpected end");                       // no size at all
        rejects(hex(HEADER + "01 80 80"), 11, "unexpected end");                // size LEB cut off
        rejects(hex(HEADER + "00 ffffffff0f 00"), 8, "unexpected end");         // custom claiming 4 GiB
    }

    @Test
    void sectionSizeMismatch() {
        // The type section's content ends at 14, two bytes before its declared end at 16.
        rejects(hex(HEADER + "01 06 01 60 00 00 00 00"), 14, "section size mismatch");
        // The declared size is too small: reading the type runs into the section's end (13).
        rejects(hex(HEADER + "01 03 01 60 00 03 01 00"), 13, "unexpected end");
        // A function body continuing after its end opcode.
        byte[] body = new ModuleBytes().standardTypes().constFunctions(1)
                .section(10, s -> s.u32(1).sized(new BinaryWriter().u32(0).u8(0x0B).u8(0x01)))
                .bytes();
        rejects(body, body.length - 1, "section size mismatch");
    }

    @Test
    void customSectionNameLongerThanTheSection() {
        rejects(hex(HEADER + "00 03 05 61 62"), 11, "unexpected end");
    }

    @Test
    void outOfOrderAndDuplicateSections() {
        rejects(hex(HEADER + "03 01 00 01 01 00"), 11, "out of order or duplicated");   // function before type
        rejects(hex(HEADER + "01 01 00 01 01 00"), 11, "out of order or duplicated");   // two type sections
        rejects(hex(HEADER + "0a 01 00 0c 01 00"), 11, "out of order or duplicated");   // data count after code
        rejects(hex(HEADER + "0b 01 00 0a 01 00"), 11, "out of order or duplicated");   // code after data
        rejects(hex(HEADER + "06 01 00 0d 01 00"), 11, "out of order or duplicated");   // tag after global
        // Custom sections may appear anywhere, repeatedly.
        WasmCodec.decode(hex(HEADER + "00 02 01 61 01 01 00 00 02 01 61 00 02 01 61 03 01 00"));
    }

    @Test
    void unknownSectionId() {
        rejects(hex(HEADER + "0e 00"), 8, "malformed section id 14");
        rejects(hex(HEADER + "01 01 00 7f 00"), 11, "malformed section id 127");
    }

    // ------------------------------------------------------------------ code

    /** A module with one function of type () -> i32 whose body is {@code code} (locals and end included). */
    private static byte[] withBody(byte[] bodyBytes, int[] opcodeOffset) {
        ModuleBytes b = new ModuleBytes().standardTypes().constFunctions(1);
        // code section: id, size (1 byte while small), count, body size (1 byte while small)
        opcodeOffset[0] = b.offset() + 4;
        return b.section(10, s -> s.u32(1).sized(new BinaryWriter().bytes(bodyBytes))).bytes();
    }

    @Test
    void unknownOpcodes() {
        int[] at = new int[1];
        byte[] m = withBody(hex("00 41 01 ff 0b"), at);
        rejects(m, at[0] + 3, "illegal opcode 0xff");
        m = withBody(hex("00 06 0b"), at); // legacy try: not supported
        rejects(m, at[0] + 1, "illegal opcode 0x6");
        m = withBody(hex("00 41 00 fc 7f 0b"), at);
        rejects(m, at[0] + 3, "illegal opcode 0xfc 127");
        m = withBody(hex("00 fd 80 02 0b"), at); // 0x100: relaxed SIMD, not in the table
        rejects(m, at[0] + 1, "illegal opcode 0xfd 256");
        m = withBody(hex("00 fb 1f 0b"), at);
        rejects(m, at[0] + 1, "illegal opcode 0xfb 31");
        m = withBody(hex("00 fe 04 0b"), at);
        rejects(m, at[0] + 1, "illegal opcode 0xfe 4");
        m = withBody(hex("00 fe ffffffff0f 0b"), at);
        rejects(m, at[0] + 1, "illegal opcode");
    }

    @Test
    void malformedInstructionImmediates() {
        int[] at = new int[1];
        rejects(withBody(hex("00 05 0b"), at), at[0] + 1, "else without a matching if");
        rejects(withBody(hex("00 02 40 05 0b 0b"), at), at[0] + 3, "else without a matching if");
        rejects(withBody(hex("00 04 40 05 05 0b 0b"), at), at[0] + 4, "else without a matching if");
        rejects(withBody(hex("00 fe 03 01 0b"), at), at[0] + 3, "zero byte expected");
        rejects(withBody(hex("00 1f 40 01 04 00 00 0b 0b"), at), at[0] + 4, "malformed catch clause kind 4");
        rejects(withBody(hex("00 02 7a 0b 0b"), at), at[0] + 2, "malformed block type");
        rejects(withBody(hex("00 41 00 28 80 01 00 0b"), at), at[0] + 4, "malformed memop flags");
        rejects(withBody(hex("00 d0 65 0b"), at), at[0] + 2, "malformed heap type");
        rejects(withBody(hex("00 41 80808080 70 0b"), at), at[0] + 2, "integer too large");
        rejects(withBody(hex("00 0e ffffff0f 0b"), at), at[0] + 6, "br_table label count"); // where the labels would start
    }

    @Test
    void blockTypeIndexBeyondIntIsRefusedNotTurnedIntoAnEmptyBlock() {
        int[] at = new int[1];
        // s33 4294967295 and 2147483648: type indices no module can have. They used to wrap to negative
        // ints, which BlockType reads as "empty", so an invalid module round-tripped into a valid one.
        rejects(withBody(hex("00 02 ffffffff0f 0b 41 00 0b"), at), at[0] + 2, "block type index too large");
        rejects(withBody(hex("00 02 8080808008 0b 41 00 0b"), at), at[0] + 2, "block type index too large");
        // The largest int still decodes (and is kept).
        byte[] ok = withBody(hex("00 02 ffffffff07 0b 41 00 0b"), at);
        var block = (io.asyncify4j.wasm.ir.StructuredInstruction) WasmCodec.decode(ok).functions().get(0).body().get(0);
        assertThat(block.blockType().typeIndex()).isEqualTo(Integer.MAX_VALUE);
        assertThat(WasmCodec.roundTrip(ok)).isEqualTo(ok);
    }

    @Test
    void bodyWithoutEnd() {
        int[] at = new int[1];
        byte[] m = withBody(hex("00 41 01"), at);
        rejects(m, m.length, "unexpected end");
        m = withBody(hex("00 02 40 0b"), at); // the block's end closes the block only
        rejects(m, m.length, "unexpected end");
    }

    @Test
    void functionAndCodeCountMismatch() {
        ModuleBytes b = new ModuleBytes().standardTypes().constFunctions(2);
        int codeCount = b.offset() + 2;
        byte[] m = b.constBodies(1, 0).bytes();
        rejects(m, codeCount, "function and code section have inconsistent lengths");
        byte[] noCode = new ModuleBytes().standardTypes().constFunctions(1).bytes();
        rejects(noCode, noCode.length, "function and code section have inconsistent lengths");
        ModuleBytes c = new ModuleBytes().standardTypes();
        int count = c.offset() + 2;
        rejects(c.constBodies(1, 0).bytes(), count, "function and code section have inconsistent lengths");
    }

    @Test
    void tooManyLocals() {
        ModuleBytes b = new ModuleBytes().standardTypes().constFunctions(1);
        int bodyStart = b.offset() + 3; // id, size, count
        byte[] overflow = b.section(10, s -> s.u32(1).sized(new BinaryWriter().u32(2)
                .u32(0xFFFFFFFFL).u8(0x7F).u32(0xFFFFFFFFL).u8(0x7F).u8(0x41).u8(0).u8(0x0B))).bytes();
        rejects(overflow, bodyStart, "too many locals");
        ModuleBytes c = new ModuleBytes().standardTypes().constFunctions(1);
        int bodyStart2 = c.offset() + 3;
        byte[] huge = c.section(10, s -> s.u32(1).sized(new BinaryWriter().u32(1)
                .u32((1L << 24) + 1).u8(0x7F).u8(0x41).u8(0).u8(0x0B))).bytes();
        // Beyond the default load limit (50,000 locals) first; with the limit raised, beyond what is supported.
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> WasmCodec.decode(huge))
                .isInstanceOf(io.asyncify4j.asyncify.LoadLimitExceededException.class)
                .hasMessageContaining("locals per function 16777217");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> WasmCodec.decode(huge,
                        io.asyncify4j.asyncify.LoadLimits.defaults().withMaxLocalsPerFunction(Integer.MAX_VALUE)))
                .isInstanceOfSatisfying(MalformedModuleException.class, e -> {
                    assertThat(e.offset()).isEqualTo(bodyStart2);
                    assertThat(e).hasMessageContaining("too many locals");
                });
        // Just under the limit is decoded.
        byte[] many = new ModuleBytes().standardTypes().constFunctions(1)
                .section(10, s -> s.u32(1).sized(new BinaryWriter().u32(2).u32(1000).u8(0x7F).u32(24).u8(0x7E)
                        .u8(0x41).u8(0).u8(0x0B))).bytes();
        assertThat(WasmCodec.decode(many).functions().get(0).locals()).hasSize(1024);
        assertThat(WasmCodec.roundTrip(many)).isEqualTo(many);
    }

    // ------------------------------------------------------------------ names and types

    @Test
    void badUtf8InNames() {
        ModuleBytes b = new ModuleBytes().standardTypes().constFunctions(1);
        int nameAt = b.offset() + 3; // id, size, count
        byte[] export = b.section(7, s -> s.u32(1).u32(2).u8(0xC3).u8(0x28).u8(0).u32(0)).constBodies(1, 0).bytes();
        rejects(export, nameAt, "malformed UTF-8");
        ModuleBytes c = new ModuleBytes();
        int moduleAt = c.offset() + 3;
        byte[] imp = c.section(2, s -> s.u32(1).u32(1).u8(0x80).u32(1).u8('x').u8(2).u8(0).u32(1)).bytes();
        rejects(imp, moduleAt, "malformed UTF-8");
        ModuleBytes d = new ModuleBytes();
        int fieldAt = d.offset() + 3 + 2;
        byte[] field = d.section(2, s -> s.u32(1).u32(1).u8('m').u32(3).u8(0xED).u8(0xA0).u8(0x80).u8(2).u8(0)
                .u32(1)).bytes();
        rejects(field, fieldAt, "malformed UTF-8");
        rejects(hex(HEADER + "00 03 02 c0 80"), 10, "malformed UTF-8"); // custom section name, overlong NUL
    }

    @Test
    void badLimitsFlags() {
        ModuleBytes b = new ModuleBytes();
        int flagsAt = b.offset() + 3;
        rejects(b.section(5, s -> s.u32(1).u8(0x08).u32(1)).bytes(), flagsAt, "malformed limits flags 0x8");
        ModuleBytes c = new ModuleBytes();
        int tableFlagsAt = c.offset() + 4;
        rejects(c.section(4, s -> s.u32(1).u8(0x70).u8(0x81).u32(1)).bytes(), tableFlagsAt, "malformed limits flags");
        ModuleBytes d = new ModuleBytes();
        int importFlagsAt = d.offset() + 3 + 4 + 1;
        rejects(d.section(2, s -> s.u32(1).name("m").name("x").u8(2).u8(0x10).u32(1)).bytes(), importFlagsAt,
                "malformed limits flags");
    }

    @Test
    void malformedTypesAndKinds() {
        rejects(hex(HEADER + "01 04 01 61 00 00"), 11, "malformed type form 0x61");
        rejects(hex(HEADER + "01 05 01 60 01 7a 00"), 13, "malformed value type 0x7a");
        rejects(hex(HEADER + "06 06 01 7f 02 41 00 0b"), 12, "malformed mutability 2");
        rejects(hex(HEADER + "02 07 01 01 6d 01 78 05 00"), 15, "malformed import kind 5");
        rejects(hex(HEADER + "07 05 01 01 66 05 00"), 13, "malformed export kind");
        rejects(hex(HEADER + "0d 03 01 01 00"), 11, "malformed tag attribute 1");
        rejects(hex(HEADER + "09 05 01 08 41 00 0b"), 11, "malformed elements segment kind 8");
        rejects(hex(HEADER + "09 05 01 01 01 00 00"), 12, "malformed element kind");
        rejects(hex(HEADER + "0b 05 01 03 00 00 00"), 11, "malformed data segment kind 3");
        rejects(hex(HEADER + "04 04 01 7f 00 01"), 11, "malformed reference type for table");
        rejects(hex(HEADER + "04 08 01 40 01 70 00 01 d0 70"), 12, "reserved byte must be 0");
    }

    @Test
    void dataCountMismatch() {
        byte[] m = hex(HEADER + "05 03 01 00 01 0c 01 02 0b 07 01 00 41 00 0b 01 61");
        rejects(m, m.length, "data count and data section have inconsistent lengths");
    }
}
