package io.asyncify4j.asyncify;

import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.model.ModuleModel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Deque;
import java.util.List;

/**
 * The direct calls ({@code call}, {@code return_call}) between defined functions, with its strongly
 * connected components (Tarjan's algorithm, iterative: call chains can be thousands deep).
 */
final class CallGraph {
    private final int imported;
    private final int[][] callees; // per defined function, absolute callee indices (defined ones only)
    private final List<int[]> components = new ArrayList<>(); // callees before callers
    private final BitSet selfCalls = new BitSet();

    CallGraph(ModuleModel m) {
        imported = m.importedFunctionCount();
        int defined = m.functions().size();
        callees = new int[defined][];
        for (int i = 0; i < defined; i++) {
            int caller = imported + i;
            BitSet out = new BitSet();
            InstructionWalker.forEachSimple(m.functions().get(i).body(), s -> {
                if ((s.opcode() == Opcode.CALL || s.opcode() == Opcode.RETURN_CALL) && s.index() >= imported) {
                    out.set(s.index());
                }
            });
            if (out.get(caller)) {
                selfCalls.set(caller);
            }
            callees[i] = out.stream().toArray();
        }
        findComponents();
    }

    /** Every defined function, callees before their callers (cycles in some order). */
    List<Integer> calleesFirst() {
        List<Integer> out = new ArrayList<>();
        for (int[] c : components) {
            for (int f : c) {
                out.add(f);
            }
        }
        return out;
    }

    /** Functions that can call themselves through a chain of direct calls. */
    BitSet onCycles() {
        BitSet out = (BitSet) selfCalls.clone();
        for (int[] c : components) {
            if (c.length > 1) {
                for (int f : c) {
                    out.set(f);
                }
            }
        }
        return out;
    }

    private void findComponents() {
        int n = callees.length;
        int[] index = new int[n];
        int[] low = new int[n];
        Arrays.fill(index, -1);
        boolean[] onStack = new boolean[n];
        Deque<Integer> stack = new ArrayDeque<>();
        int[] next = new int[n]; // per node on the DFS path: which callee to visit next
        int counter = 0;
        Deque<Integer> path = new ArrayDeque<>();
        for (int root = 0; root < n; root++) {
            if (index[root] >= 0) {
                continue;
            }
            path.push(root);
            index[root] = low[root] = counter++;
            stack.push(root);
            onStack[root] = true;
            while (!path.isEmpty()) {
                int v = path.peek();
                if (next[v] < callees[v].length) {
                    int w = callees[v][next[v]++] - imported;
                    if (index[w] < 0) {
                        index[w] = low[w] = counter++;
                        stack.push(w);
                        onStack[w] = true;
                        path.push(w);
                    } else if (onStack[w]) {
                        low[v] = Math.min(low[v], index[w]);
                    }
                    continue;
                }
                path.pop();
                if (!path.isEmpty()) {
                    int parent = path.peek();
                    low[parent] = Math.min(low[parent], low[v]);
                }
                if (low[v] == index[v]) {
                    List<Integer> component = new ArrayList<>();
                    int w;
                    do {
                        w = stack.pop();
                        onStack[w] = false;
                        component.add(imported + w);
                    } while (w != v);
                    components.add(component.stream().mapToInt(Integer::intValue).toArray());
                }
            }
        }
    }
}
