package io.asyncify4j.wasm.codec;

import static io.asyncify4j.wasm.testutil.RoundTrip.args;
import static org.assertj.core.api.Assertions.assertThat;

import run.endive.wasm.types.NameCustomSection;
import io.asyncify4j.wasm.binary.BinaryReader;
import io.asyncify4j.wasm.binary.BinaryWriter;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.model.CustomSection;
import io.asyncify4j.wasm.model.DataSegment;
import io.asyncify4j.wasm.model.ElementSegment;
import io.asyncify4j.wasm.model.HeapType;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.NameSection;
import io.asyncify4j.wasm.model.SegmentMode;
import io.asyncify4j.wasm.model.ValType;
import io.asyncify4j.wasm.testutil.ModuleBytes;
import io.asyncify4j.wasm.testutil.ModuleDump;
import io.asyncify4j.wasm.testutil.RoundTrip;
import io.asyncify4j.wasm.testutil.RoundTrip.Outcome;
import io.asyncify4j.wasm.testutil.Wat;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Custom and name sections, all element and data segment encodings, and the data count section. */
class SectionsRoundTripTest {

    /** The sections of a binary in order: known ones by id, custom ones as "custom:NAME". */
    static List<String> sectionOrder(byte[] wasm) {
        BinaryReader r = new BinaryReader(wasm);
        r.bytes(8);
        List<String> out = new ArrayList<>();
        while (!r.atEnd()) {
            int id = r.u8();
            BinaryReader s = r.slice(r.index());
            out.add(id == 0 ? "custom:" + s.name() : Integer.toString(id));
        }
        return out;
    }

    private static List<String> opcodes(List<Instruction> expr) {
        return expr.stream().map(i -> i.opcode().name()).toList();
    }

    // ------------------------------------------------------------------ custom sections

    @Test
    void customSectionsKeepTheirPositionRelativeToKnownSections() {
        byte[] input = new ModuleBytes()
                .custom("first", new byte[] {1, 2, 3})
                .standardTypes()
                .custom("afterType", new byte[0])
                .custom("afterType2", "\u00e9t\u00e9".getBytes(StandardCharsets.UTF_8))
                .constFunctions(1)
                .section(5, s -> s.u32(1).u8(0).u32(1))
                .custom("afterMemory", new byte[] {9})
                .section(7, s -> s.u32(1).name("f").u8(0).u32(0))
                .section(12, s -> s.u32(1))
                .custom("afterDataCount", new byte[] {4, 4})
                .constBodies(1, 42)
                .custom("afterCode", new byte[] {0x0B})
                .section(11, s -> s.u32(1).u32(1).u32(2).u8('h').u8('i'))
                .custom("last", new byte[] {7, 7, 7})
                .bytes();
        RoundTrip.Result r = RoundTrip.checkWithEngine(input);
        assertThat(r.encoded()).as("byte-identical round trip").isEqualTo(input);
        assertThat(sectionOrder(r.encoded())).containsExactly("custom:first", "1", "custom:afterType",
                "custom:afterType2", "3", "5", "custom:afterMemory", "7", "12", "custom:afterDataCount", "10",
                "custom:afterCode", "11", "custom:last");
        List<CustomSection> customs = r.model().customSections();
        assertThat(customs).extracting(CustomSection::name).containsExactly("first", "afterType", "afterType2",
                "afterMemory", "afterDataCount", "afterCode", "last");
        assertThat(customs).extracting(CustomSection::afterSection).containsExactly(0, 1, 1, 5, 12, 10, 11);
        assertThat(customs.get(0).content()).containsExactly(1, 2, 3);
        assertThat(new String(customs.get(2).content(), StandardCharsets.UTF_8)).isEqualTo("\u00e9t\u00e9");
        assertThat(r.model().hasDataCount()).isTrue();
        assertThat(RoundTrip.engine(r.encoded()).customSections()).hasSize(7);
        assertThat(RoundTrip.assertSameBehaviour(input, r.encoded(), "f", args()).get(0).results())
                .containsExactly(42);
    }

    @Test
    void customAfterAnOmittedEmptySectionStaysBetweenItsNeighbours() {
        byte[] input = new ModuleBytes()
                .standardTypes()
                .constFunctions(1)
                .section(6, s -> s.u32(0)) // an empty global section is not written back
                .custom("afterEmptyGlobals", new byte[] {1})
                .section(7, s -> s.u32(1).name("f").u8(0).u32(0))
                .constBodies(1, 5)
                .bytes();
        RoundTrip.Result r = RoundTrip.checkWithEngine(input);
        assertThat(sectionOrder(r.encoded())).containsExactly("1", "3", "custom:afterEmptyGlobals", "7", "10");
        assertThat(r.encoded()).hasSize(input.length - 3);
        // Anchored to the last section that is written back, so the model is stable under the round trip.
        assertThat(r.model().customSections().get(0).afterSection()).isEqualTo(3);
    }

    @Test
    void addedCustomSectionIsWrittenAtItsAnchor() {
        ModuleModel m = WasmCodec.decode(Wat.wat("(module (memory 1) (func (export \"f\")))"));
        m.customSections().add(new CustomSection("mine", new byte[] {5}, 5));
        m.customSections().add(new CustomSection("head", new byte[0], 0));
        byte[] out = WasmCodec.encode(m);
        assertThat(sectionOrder(out)).containsExactly("custom:head", "1", "3", "5", "custom:mine", "7", "10");
        RoundTrip.check(out);
    }

    // ------------------------------------------------------------------ name section

    private static byte[] nameSectionContent() {
        BinaryWriter names = new BinaryWriter();
        names.u8(0).sized(new BinaryWriter().name("mod\u00fcle"));
        names.u8(1).sized(new BinaryWriter().u32(2).u32(0).name("zero").u32(1).name("one\u00e9"));
        names.u8(2).sized(new BinaryWriter().u32(2)
                .u32(0).u32(0)
                .u32(1).u32(2).u32(0).name("p").u32(1).name("tmp"));
        names.u8(3).sized(new BinaryWriter().u32(1).u32(1).u32(1).u32(0).name("loop_label")); // labels: raw
        names.u8(7).sized(new BinaryWriter().u32(1).u32(0).name("g")); // global names
        names.u8(9).sized(new BinaryWriter().u32(0)); // data segment names: raw, after the globals
        return names.toByteArray();
    }

    @Test
    void nameSectionFunctionAndLocalNamesSurvive() {
        byte[] input = new ModuleBytes()
                .standardTypes()
                .section(3, s -> s.u32(2).u32(0).u32(1))
                .section(6, s -> s.u32(1).u8(0x7F).u8(0).u8(0x41).u8(3).u8(0x0B))
                .section(7, s -> s.u32(2).name("zero").u8(0).u32(0).name("one").u8(0).u32(1))
                .section(10, s -> s.u32(2)
                        .sized(new BinaryWriter().u32(0).u8(0x41).u8(7).u8(0x0B))
                        .sized(new BinaryWriter().u32(1).u32(1).u8(0x7F)
                                .u8(0x03).u8(0x40).u8(0x0B) // loop end
                                .u8(0x20).u8(0x00).u8(0x22).u8(0x01).u8(0x0B)))
                .section(0, s -> s.name("name").bytes(nameSectionContent()))
                .bytes();
        RoundTrip.Result r = RoundTrip.checkWithEngine(input);
        assertThat(r.encoded()).isEqualTo(input);
        NameSection names = r.model().names();
        assertThat(names).isNotNull();
        assertThat(names.afterSection()).isEqualTo(10);
        assertThat(names.moduleName()).isEqualTo("mod\u00fcle");
        assertThat(names.functionNames()).containsExactly(Map.entry(0, "zero"), Map.entry(1, "one\u00e9"));
        assertThat(names.localNames()).containsOnlyKeys(0, 1);
        assertThat(names.localNames().get(0)).isEmpty();
        assertThat(names.localNames().get(1)).containsExactly(Map.entry(0, "p"), Map.entry(1, "tmp"));
        assertThat(names.otherSubsections()).extracting(NameSection.RawSubsection::id).containsExactly(3, 9);
        assertThat(names.globalNames()).containsExactly(Map.entry(0, "g"));
        assertThat(r.model().customSections()).as("the name section is not duplicated as raw").isEmpty();
        assertThat(r.model().functionDisplayName(1)).isEqualTo("$one\u00e9");
        NameCustomSection engineNames = RoundTrip.engine(r.encoded()).nameSection();
        assertThat(engineNames.nameOfFunction(1)).isEqualTo("one\u00e9");
        assertThat(engineNames.nameOfLocal(1, 1)).isEqualTo("tmp");
        assertThat(engineNames.nameOfGlobal(0)).isEqualTo("g");
        assertThat(RoundTrip.assertSameBehaviour(input, r.encoded(), "one", args(4)).get(0).results())
                .containsExactly(4);
    }

    @Test
    void editedNamesAreWrittenBack() {
        byte[] input = new ModuleBytes()
                .standardTypes()
                .constFunctions(2)
                .constBodies(2, 0)
                .section(0, s -> s.name("name").bytes(nameSectionContent()))
                .bytes();
        ModuleModel m = WasmCodec.decode(input);
        m.names().functionNames().put(1, "renamed");
        m.names().localNames().get(1).put(5, "added");
        ModuleModel back = WasmCodec.decode(WasmCodec.encode(m));
        assertThat(back.names().functionNames()).containsEntry(1, "renamed").containsEntry(0, "zero");
        assertThat(back.names().localNames().get(1)).containsEntry(5, "added").containsEntry(0, "p");
        assertThat(ModuleDump.of(back)).isEqualTo(ModuleDump.of(m));
    }

    @Test
    void malformedNameSectionIsKeptAsARawCustomSection() {
        BinaryWriter bad = new BinaryWriter();
        bad.u8(1).u32(50).u32(1); // subsection claims 50 bytes, only a few follow
        bad.u8(0);
        byte[] input = new ModuleBytes()
                .standardTypes()
                .constFunctions(1)
                .constBodies(1, 0)
                .section(0, s -> s.name("name").bytes(bad.toByteArray()))
                .bytes();
        RoundTrip.Result r = RoundTrip.check(input);
        assertThat(r.model().names()).isNull();
        assertThat(r.model().customSections()).extracting(CustomSection::name).containsExactly("name");
        assertThat(r.encoded()).isEqualTo(input);
    }

    // ------------------------------------------------------------------ element segments

    /** The module of {@link #elementSegmentsInAllEightEncodings}; also a fuzzing seed. */
    byte[] elementsModuleForFuzzing() {
        BinaryWriter elems = new BinaryWriter().u32(8);
        elems.u32(0).u8(0x41).u8(0).u8(0x0B).u32(1).u32(0);                          // active table 0, funcs
        elems.u32(1).u8(0x00).u32(1).u32(1);                                          // passive, funcs
        elems.u32(2).u32(1).u8(0x41).u8(0).u8(0x0B).u8(0x00).u32(1).u32(1);          // active explicit table 1
        elems.u32(3).u8(0x00).u32(1).u32(0);                                          // declarative, funcs
        elems.u32(4).u8(0x41).u8(1).u8(0x0B).u32(1).u8(0xD2).u8(1).u8(0x0B);         // active table 0, exprs
        elems.u32(5).u8(0x70).u32(2).u8(0xD0).u8(0x70).u8(0x0B).u8(0xD2).u8(0).u8(0x0B); // passive exprs
        elems.u32(6).u32(1).u8(0x41).u8(1).u8(0x0B).u8(0x70).u32(1).u8(0xD2).u8(0).u8(0x0B); // active table 1
        elems.u32(7).u8(0x70).u32(1).u8(0xD2).u8(1).u8(0x0B);                          // declarative exprs
        return new ModuleBytes()
                .standardTypes()
                .section(3, s -> s.u32(5).u32(0).u32(0).u32(1).u32(1).u32(0))
                .section(4, s -> s.u32(2).u8(0x70).u8(0).u32(4).u8(0x70).u8(0).u32(4))
                .section(7, s -> s.u32(3).name("t0").u8(0).u32(2).name("t1").u8(0).u32(3).name("init").u8(0).u32(4))
                .section(9, s -> s.bytes(elems.toByteArray()))
                .section(10, s -> s.u32(5)
                        .sized(new BinaryWriter().u32(0).u8(0x41).signed(100).u8(0x0B))
                        .sized(new BinaryWriter().u32(0).u8(0x41).signed(200).u8(0x0B))
                        .sized(new BinaryWriter().u32(0).u8(0x20).u8(0).u8(0x11).u8(0).u8(0).u8(0x0B))
                        .sized(new BinaryWriter().u32(0).u8(0x20).u8(0).u8(0x11).u8(0).u8(1).u8(0x0B))
                        .sized(new BinaryWriter().u32(0).u8(0x41).u8(2).u8(0x41).u8(0).u8(0x41).u8(2)
                                .u8(0xFC).u32(12).u32(5).u32(0).u8(0x41).u8(0).u8(0x0B)))
                .bytes();
    }

    @Test
    void elementSegmentsInAllEightEncodings() {
        byte[] input = elementsModuleForFuzzing();
        RoundTrip.Result r = RoundTrip.checkWithEngine(input);
        assertThat(r.encoded()).as("every encoding is written back as it was").isEqualTo(input);
        List<ElementSegment> e = r.model().elements();
        assertThat(e).extracting(ElementSegment::mode).containsExactly(SegmentMode.ACTIVE, SegmentMode.PASSIVE,
                SegmentMode.ACTIVE, SegmentMode.DECLARATIVE, SegmentMode.ACTIVE, SegmentMode.PASSIVE,
                SegmentMode.ACTIVE, SegmentMode.DECLARATIVE);
        assertThat(e).extracting(ElementSegment::tableIndex).containsExactly(0, 0, 1, 0, 0, 0, 1, 0);
        assertThat(e).extracting(ElementSegment::explicitTable).containsExactly(false, false, true, true, false,
                false, true, true);
        assertThat(e).extracting(ElementSegment::functionIndices).containsExactly(List.of(0), List.of(1),
                List.of(1), List.of(0), null, null, null, null);
        assertThat(e.get(4).expressions()).hasSize(1);
        assertThat(opcodes(e.get(5).expressions().get(0))).containsExactly("REF_NULL");
        assertThat(((io.asyncify4j.wasm.ir.SimpleInstruction) e.get(5).expressions().get(0).get(0)).immediate(0))
                .isEqualTo(HeapType.FUNC);
        assertThat(opcodes(e.get(6).offset())).containsExactly("I32_CONST");
        assertThat(e).extracting(ElementSegment::type).containsOnly(ValType.FUNCREF);
        assertThat(e).extracting(ElementSegment::size).containsExactly(1, 1, 1, 1, 1, 2, 1, 1);

        List<Outcome> t0 = RoundTrip.assertSameBehaviour(input, r.encoded(), "t0", args(0), args(1), args(2));
        assertThat(t0.get(0).results()).containsExactly(100);
        assertThat(t0.get(1).results()).containsExactly(200);
        assertThat(t0.get(2).failure()).isNotNull();
        List<Outcome> t1 = RoundTrip.assertSameBehaviour(input, r.encoded(), "t1", args(0), args(1));
        assertThat(t1.get(0).results()).containsExactly(200);
        assertThat(t1.get(1).results()).containsExactly(100);
    }

    @Test
    void elementSegmentEncodingIsChosenFromTheModel() {
        // Segments built in code: an active one on table 1 must use an explicit-table encoding even if
        // explicitTable is false, and a non-funcref type forces the explicit form too.
        ModuleModel m = WasmCodec.decode(Wat.wat("""
            (module (table 2 funcref) (table 2 funcref) (table 2 externref) (func))
            """));
        List<Instruction> offset = List.of(io.asyncify4j.wasm.testutil.Ir.i32(0));
        m.elements().add(new ElementSegment(SegmentMode.ACTIVE, 1, offset, ValType.FUNCREF, List.of(0), null, false));
        m.elements().add(new ElementSegment(SegmentMode.ACTIVE, 2, offset, ValType.EXTERNREF, null,
                List.of(List.of(io.asyncify4j.wasm.testutil.Ir.op(Opcode.REF_NULL, HeapType.EXTERN))), false));
        byte[] out = WasmCodec.encode(m);
        ModuleModel back = WasmCodec.decode(out);
        assertThat(back.elements()).extracting(ElementSegment::tableIndex).containsExactly(1, 2);
        assertThat(back.elements()).extracting(ElementSegment::type).containsExactly(ValType.FUNCREF,
                ValType.EXTERNREF);
        assertThat(back.elements()).extracting(ElementSegment::explicitTable).containsExactly(true, true);
        RoundTrip.check(out);
        RoundTrip.engine(out);
    }

    // ------------------------------------------------------------------ data segments and data count

    private static byte[] dataModule(boolean dataCount, int thirdFlags) {
        ModuleBytes b = new ModuleBytes()
                .standardTypes()
                .section(3, s -> s.u32(1).u32(0))
                .section(5, s -> s.u32(2).u8(0).u32(1).u8(0).u32(1))
                .section(7, s -> s.u32(1).name("f").u8(0).u32(0));
        if (dataCount) {
            b.section(12, s -> s.u32(3));
        }
        b.section(10, s -> s.u32(1).sized(new BinaryWriter().u32(0)
                .u8(0x41).u8(0).u8(0x2D).u8(0x40).u8(0x01).u8(0x20)                  // i32.load8_u mem1 off 0x20
                .u8(0x41).signed(64).u8(0x41).u8(0).u8(0x41).u8(2).u8(0xFC).u32(8).u32(1).u32(0) // memory.init 1 0
                .u8(0x41).u8(0).u8(0x2D).u8(0x00).u32(0x41).u8(0x6A)                  // + i32.load8_u off 0x41
                .u8(0x41).u8(0).u8(0x2D).u8(0x00).u32(0x10).u8(0x6A)                  // + i32.load8_u off 0x10
                .u8(0x0B)));
        b.section(11, s -> {
            s.u32(3);
            s.u32(0).u8(0x41).u8(0x10).u8(0x0B).u32(3).u8('a').u8('b').u8('c');
            s.u32(1).u32(2).u8('x').u8('y');
            s.u32(thirdFlags);
            if (thirdFlags == 2) {
                s.u32(1);
            }
            s.u8(0x41).u8(0x20).u8(0x0B).u32(2).u8('p').u8('q');
        });
        return b.bytes();
    }

    @Test
    void dataSegmentsInAllThreeEncodingsAndTheDataCount() {
        byte[] input = dataModule(true, 2);
        RoundTrip.Result r = RoundTrip.checkWithEngine(input);
        assertThat(r.encoded()).isEqualTo(input);
        List<DataSegment> d = r.model().data();
        assertThat(d).extracting(DataSegment::mode).containsExactly(SegmentMode.ACTIVE, SegmentMode.PASSIVE,
                SegmentMode.ACTIVE);
        assertThat(d).extracting(DataSegment::memoryIndex).containsExactly(0, 0, 1);
        assertThat(d.get(0).bytes()).containsExactly('a', 'b', 'c');
        assertThat(d.get(1).offset()).isNull();
        assertThat(new String(d.get(2).bytes(), StandardCharsets.US_ASCII)).isEqualTo("pq");
        assertThat(r.model().hasDataCount()).isTrue();
        assertThat(sectionOrder(r.encoded())).containsExactly("1", "3", "5", "7", "12", "10", "11");
        List<Outcome> out = RoundTrip.assertSameBehaviour(input, r.encoded(), "f", args());
        assertThat(out.get(0).results()).containsExactly('p' + 'y' + 'a');
    }

    @Test
    void explicitMemoryZeroDataSegmentIsCanonicalized() {
        // Flags 2 naming memory 0 means the same as flags 0; it is written back in the short form.
        byte[] input = dataModule(true, 2);
        byte[] onMemoryZero = input.clone();
        // Patch the third segment's memory index (the byte after its flags 0x02) to 0: find "02 01 41 20 0B".
        int at = indexOf(onMemoryZero, 0x02, 0x01, 0x41, 0x20, 0x0B);
        onMemoryZero[at + 1] = 0;
        ModuleModel m = WasmCodec.decode(onMemoryZero);
        assertThat(m.data().get(2).memoryIndex()).isZero();
        RoundTrip.Result r = RoundTrip.checkWithEngine(onMemoryZero);
        assertThat(r.encoded()).hasSize(onMemoryZero.length - 1);
        assertThat(indexOf(r.encoded(), 0x00, 0x41, 0x20, 0x0B, 0x02, 'p', 'q')).isPositive();
        RoundTrip.assertSameBehaviour(onMemoryZero, r.encoded(), "f", args());
    }

    @Test
    void dataCountSectionIsKeptOnlyWhenPresent() {
        byte[] without = new ModuleBytes()
                .standardTypes()
                .section(5, s -> s.u32(1).u8(0).u32(1))
                .section(11, s -> s.u32(1).u32(0).u8(0x41).u8(0).u8(0x0B).u32(1).u8(1))
                .bytes();
        RoundTrip.Result r = RoundTrip.checkWithEngine(without);
        assertThat(r.model().hasDataCount()).isFalse();
        assertThat(sectionOrder(r.encoded())).containsExactly("1", "5", "11");
        byte[] with = new ModuleBytes()
                .standardTypes()
                .section(5, s -> s.u32(1).u8(0).u32(1))
                .section(12, s -> s.u32(1))
                .section(11, s -> s.u32(1).u32(0).u8(0x41).u8(0).u8(0x0B).u32(1).u8(1))
                .bytes();
        RoundTrip.Result r2 = RoundTrip.checkWithEngine(with);
        assertThat(r2.model().hasDataCount()).isTrue();
        assertThat(r2.encoded()).isEqualTo(with);
        // The count written is the model's segment count.
        r2.model().data().add(new DataSegment(SegmentMode.PASSIVE, 0, null, new byte[] {2}));
        byte[] grown = WasmCodec.encode(r2.model());
        assertThat(WasmCodec.decode(grown).data()).hasSize(2);
        assertThat(indexOf(grown, 12, 1, 2)).isPositive();
    }

    static int indexOf(byte[] haystack, int... needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if ((haystack[i + j] & 0xFF) != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
