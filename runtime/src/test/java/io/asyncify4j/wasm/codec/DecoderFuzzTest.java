package io.asyncify4j.wasm.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.asyncify4j.wasm.binary.MalformedModuleException;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.testutil.ModuleDump;
import io.asyncify4j.wasm.testutil.Wat;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Deterministic mutation fuzzing of the decoder: mutated or truncated valid modules either decode or
 * are refused with {@link MalformedModuleException} (never any other exception, never a hang), and
 * whatever decodes also encodes, with the encoding stable under another round trip.
 */
class DecoderFuzzTest {

    private static final int CASES_PER_SEED = 1500;
    private static final int[] INTERESTING = {0x00, 0x01, 0x0B, 0x40, 0x41, 0x60, 0x70, 0x7F, 0x80, 0xFF, 0xFC,
        0xFD, 0xFE, 0xFB, 0x05, 0x02, 0x63, 0x64, 0x4E, 0x50};

    private static List<byte[]> seeds() {
        List<byte[]> seeds = new ArrayList<>();
        seeds.add(Wat.wat(FeatureRoundTripTest.CONTROL));
        seeds.add(Wat.wat("""
            (module
              (import "env" "g" (global $g (mut i64)))
              (import "env" "t" (table 1 funcref))
              (memory (export "mem") 1 3)
              (global $x (mut f64) (f64.const 1.5))
              (data (i32.const 4) "abcdef")
              (data "passive")
              (elem declare func $f)
              (func $f (param i32 i64) (result i64) (local v128 f32)
                (i64.store offset=8 (local.get 0) (local.get 1))
                (memory.init 1 (i32.const 0) (i32.const 0) (i32.const 2))
                (data.drop 1)
                (local.set 2 (v128.const i32x4 1 2 3 4))
                (drop (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 (local.get 2) (local.get 2)))
                (drop (ref.func $f))
                (block (result i64) (br_table 0 0 (i64.load (local.get 0)) (local.get 0))))
              (start 1)
              (func (global.set $x (f64.const 2))))
            """));
        seeds.add(Wat.watAll("""
            (module
              (memory 1 1 shared)
              (memory $m2 1)
              (func (param i32) (result i32)
                (i32.atomic.rmw.add (local.get 0) (i32.const 1))
                (i32.load $m2 offset=4 (i32.const 0))
                i32.add
                (return_call 1 (i32.const 0)))
              (func (param i32) (result i32) (local.get 0)))
            """));
        seeds.add(new SectionsRoundTripTest().elementsModuleForFuzzing());
        return seeds;
    }

    private static byte[] mutate(byte[] seed, Random rnd) {
        byte[] b = seed.clone();
        int kind = rnd.nextInt(8);
        int pos = 8 + rnd.nextInt(Math.max(1, b.length - 8));
        switch (kind) {
            case 0: // flip one bit
                b[Math.min(pos, b.length - 1)] ^= (byte) (1 << rnd.nextInt(8));
                return b;
            case 1: // an interesting byte
                b[Math.min(pos, b.length - 1)] = (byte) INTERESTING[rnd.nextInt(INTERESTING.length)];
                return b;
            case 2: // a random byte
                b[Math.min(pos, b.length - 1)] = (byte) rnd.nextInt(256);
                return b;
            case 3: // truncate anywhere (header included)
                return Arrays.copyOf(b, rnd.nextInt(b.length));
            case 4: { // delete a range
                int len = 1 + rnd.nextInt(8);
                int from = Math.min(pos, b.length);
                int to = Math.min(b.length, from + len);
                byte[] out = new byte[b.length - (to - from)];
                System.arraycopy(b, 0, out, 0, from);
                System.arraycopy(b, to, out, from, b.length - to);
                return out;
            }
            case 5: { // insert random bytes
                int len = 1 + rnd.nextInt(6);
                int at = Math.min(pos, b.length);
                byte[] out = new byte[b.length + len];
                System.arraycopy(b, 0, out, 0, at);
                for (int i = 0; i < len; i++) {
                    out[at + i] = (byte) (rnd.nextBoolean() ? rnd.nextInt(256) : INTERESTING[rnd.nextInt(INTERESTING.length)]);
                }
                System.arraycopy(b, at, out, at + len, b.length - at);
                return out;
            }
            case 6: { // a huge LEB over a few bytes
                int at = Math.min(pos, b.length - 1);
                byte[] leb = {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x0F};
                for (int i = 0; i < leb.length && at + i < b.length; i++) {
                    b[at + i] = leb[i];
                }
                return b;
            }
            default: { // several random byte changes
                int n = 2 + rnd.nextInt(4);
                for (int i = 0; i < n; i++) {
                    b[8 + rnd.nextInt(b.length - 8)] = (byte) rnd.nextInt(256);
                }
                return b;
            }
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void mutatedModulesDecodeOrFailWithMalformedModuleException() {
        Random rnd = new Random(0x5EED_A5F4L);
        int decoded = 0;
        int refused = 0;
        List<byte[]> seeds = seeds();
        for (byte[] seed : seeds) {
            WasmCodec.decode(seed); // the seed itself is valid
            for (int i = 0; i < CASES_PER_SEED; i++) {
                byte[] input = mutate(seed, rnd);
                ModuleModel m;
                try {
                    m = WasmCodec.decode(input);
                } catch (MalformedModuleException e) {
                    assertThat(e.offset()).as("offset within the input").isBetween(0L, (long) input.length);
                    refused++;
                    continue;
                } catch (io.asyncify4j.asyncify.LoadLimitExceededException e) {
                    // A mutated count beyond a load limit (say, two million locals): refused by name.
                    assertThat(e.value()).isGreaterThan(e.maximum());
                    refused++;
                    continue;
                } catch (Throwable t) {
                    throw new AssertionError("decoder threw " + t + " on case " + i + " of seed "
                            + seeds.indexOf(seed) + ": " + java.util.HexFormat.of().formatHex(input), t);
                }
                decoded++;
                // Whatever decodes must encode, and the encoding must be a fixpoint of the round trip.
                byte[] encoded;
                try {
                    encoded = WasmCodec.encode(m);
                } catch (Throwable t) {
                    throw new AssertionError("encoder threw " + t + " on "
                            + java.util.HexFormat.of().formatHex(input), t);
                }
                ModuleModel again = WasmCodec.decode(encoded);
                assertThat(ModuleDump.of(again)).as("re-decoded model of %s",
                        java.util.HexFormat.of().formatHex(input)).isEqualTo(ModuleDump.of(m));
                assertThat(WasmCodec.encode(again)).isEqualTo(encoded);
            }
        }
        int total = seeds.size() * CASES_PER_SEED;
        assertThat(decoded + refused).isEqualTo(total);
        // The mutations must exercise both outcomes substantially.
        assertThat(refused).isGreaterThan(total / 4);
        assertThat(decoded).isGreaterThan(total / 20);
    }
}
