package io.asyncify4j.asyncify;

import static org.assertj.core.api.Assertions.assertThat;

import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.testutil.Wat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The call graph behind fuel entry checks: a function on a cycle missed would recurse unmetered. */
class CallGraphTest {

    private static CallGraph graph(String wat) {
        ModuleModel m = WasmCodec.decode(Wat.watAll(wat)); // return_call needs the tail-call feature
        return new CallGraph(m);
    }

    @Test
    void findsCyclesReachedThroughCrossEdgesAndSelfCalls() {
        // 0 -> 1 -> 0 is found first (callees in index order); then 0 -> 2 -> 3 -> 1 reaches 1, already
        // finished: a cross edge, yet 2 and 3 are on a cycle (through 1 -> 0). 4 calls itself in tail
        // position; 5 and 6 are on no cycle.
        CallGraph g = graph("(module"
                + " (func $f0 (call $f1) (call $f2))"
                + " (func $f1 (call $f0))"
                + " (func $f2 (call $f3))"
                + " (func $f3 (call $f1))"
                + " (func $f4 (return_call $f4))"
                + " (func $f5 (call $f6) (call $f0))"
                + " (func $f6))");
        assertThat(g.onCycles().stream().boxed().toList()).containsExactly(0, 1, 2, 3, 4);
    }

    @Test
    void listsCalleesBeforeTheirCallers() {
        CallGraph g = graph("(module"
                + " (func $main (call $mid) (call $leaf))"
                + " (func $mid (call $leaf))"
                + " (func $leaf))");
        List<Integer> order = g.calleesFirst();
        assertThat(order).containsExactlyInAnyOrder(0, 1, 2);
        assertThat(order.indexOf(2)).isLessThan(order.indexOf(1));
        assertThat(order.indexOf(1)).isLessThan(order.indexOf(0));
    }

    @Test
    void handlesCallChainsDeeperThanTheJavaStack() {
        StringBuilder wat = new StringBuilder("(module");
        int n = 20_000;
        for (int i = 0; i < n; i++) {
            wat.append(" (func $f").append(i).append(i + 1 < n ? " (call $f" + (i + 1) + ")" : "").append(")");
        }
        wat.append(" (func $back (call $f0)))"); // not on a cycle: nothing calls $back
        CallGraph g = graph(wat.toString());
        assertThat(g.onCycles().isEmpty()).isTrue();
        assertThat(g.calleesFirst().get(0)).isEqualTo(n - 1);
    }
}
