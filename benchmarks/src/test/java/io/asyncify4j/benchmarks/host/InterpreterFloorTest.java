package io.asyncify4j.benchmarks.host;

import static org.assertj.core.api.Assertions.assertThat;

import com.dylibso.chicory.wabt.Wat2Wasm;
import org.junit.jupiter.api.Test;

/** The floor benchmark's hand-written module must really unwind and rewind, or its figure means nothing. */
class InterpreterFloorTest {

    @Test
    void theMinimalModuleSuspendsAtEveryPingAndResumesWithItsLocals() throws Exception {
        byte[] minimal = Wat2Wasm.parse(InterpreterFloor.MINIMAL);
        for (int depth : new int[] {0, 1, 3, 12}) {
            InterpreterFloor.Guest guest = InterpreterFloor.guest(minimal, true, false);
            long[] r = guest.driver().call(guest.instance().export("loop"), 37, depth);
            assertThat(r[0]).as("depth %d", depth).isEqualTo(37);
            assertThat(guest.driver().suspensions()).isEqualTo(37);
        }
    }

    @Test
    void theVariantsRunTheirModules() throws Exception {
        assertThat(InterpreterFloor.sameThread(Wat2Wasm.parse(HostBenchmarks.PING), false, false, 2).run(5))
                .isPositive();
        assertThat(InterpreterFloor.sameThread(Wat2Wasm.parse(InterpreterFloor.MINIMAL), true, false, 2).run(5))
                .isPositive();
        assertThat(InterpreterFloor.sameThread(
                RoundTripInstructions.transformedPing(Wat2Wasm.parse(HostBenchmarks.PING)), true, true, 2).run(5))
                .isPositive();
    }
}
