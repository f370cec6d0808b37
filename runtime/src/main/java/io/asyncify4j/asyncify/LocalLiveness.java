package io.asyncify4j.asyncify;

import io.asyncify4j.wasm.ir.Catch;
import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import io.asyncify4j.wasm.ir.TryTableInstruction;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Backward liveness of locals over structured code: for every call instruction, the locals that may be
 * read after it returns (or throws to an enclosing handler) before being written again. A frame saved at
 * a call site needs exactly those.
 *
 * <p>Branches take the live set of their target (a block's end, a loop's start, found by fixed
 * point); calls and throws inside a {@code try_table} may also continue at its catch labels.
 */
final class LocalLiveness {
    private final Map<Instruction, BitSet> liveAfterCall = new IdentityHashMap<>();
    /** Live sets at the labels in scope, innermost last. */
    private final List<BitSet> labels = new ArrayList<>();
    /** Live sets where an exception thrown here may continue, innermost try_table last. */
    private final List<BitSet> handlers = new ArrayList<>();
    /** The live set at each loop's head when its fixed point was last reached. */
    private final Map<Instruction, BitSet> loopHeads = new IdentityHashMap<>();

    private LocalLiveness() {}

    /** Live-after sets of every call ({@code call}, {@code call_indirect}, {@code call_ref}) in {@code body}. */
    static Map<Instruction, BitSet> ofCalls(List<Instruction> body) {
        LocalLiveness l = new LocalLiveness();
        BitSet exit = new BitSet();
        l.labels.add(exit); // the function's label: returning reads no local
        l.sequence(body, exit);
        return l.liveAfterCall;
    }

    private BitSet label(long depth) {
        return labels.get(labels.size() - 1 - (int) depth);
    }

    private BitSet handlerLive() {
        BitSet all = new BitSet();
        handlers.forEach(all::or);
        return all;
    }

    /** Returns the live set before {@code body} given the live set after it. */
    private BitSet sequence(List<Instruction> body, BitSet liveOut) {
        BitSet live = (BitSet) liveOut.clone();
        for (int i = body.size() - 1; i >= 0; i--) {
            Instruction in = body.get(i);
            if (in instanceof StructuredInstruction st) {
                live = structured(st, live);
            } else {
                live = simple((SimpleInstruction) in, live);
            }
        }
        return live;
    }

    private BitSet simple(SimpleInstruction s, BitSet live) {
        switch (s.opcode()) {
            case LOCAL_GET:
                live.set(s.index());
                return live;
            case LOCAL_SET:
            case LOCAL_TEE:
                live.clear(s.index());
                return live;
            case BR:
                return (BitSet) label(s.immediate(0)).clone();
            case BR_IF:
            case BR_ON_NULL:
            case BR_ON_NON_NULL:
                live.or(label(s.immediate(0)));
                return live;
            case BR_ON_CAST:
            case BR_ON_CAST_FAIL:
                live.or(label(s.immediate(1)));
                return live;
            case BR_TABLE: {
                BitSet out = new BitSet();
                for (int i = 0; i < s.immediateCount(); i++) {
                    out.or(label(s.immediate(i)));
                }
                return out;
            }
            case RETURN:
            case UNREACHABLE:
            case RETURN_CALL:
            case RETURN_CALL_INDIRECT:
            case RETURN_CALL_REF:
                return handlerLive(); // tail calls may still throw to a handler
            case THROW:
            case THROW_REF:
                return handlerLive();
            case CALL:
            case CALL_INDIRECT:
            case CALL_REF:
                // The callee may also throw, resumed after a suspension too: a frame saved here must
                // keep what the enclosing handlers read.
                live.or(handlerLive());
                liveAfterCall.put(s, (BitSet) live.clone());
                return live;
            default:
                return live;
        }
    }

    private BitSet structured(StructuredInstruction st, BitSet liveOut) {
        switch (st.opcode()) {
            case BLOCK: {
                labels.add(liveOut);
                BitSet in = sequence(st.body(), liveOut);
                labels.remove(labels.size() - 1);
                return in;
            }
            case LOOP: {
                // Start from the head this loop reached when an enclosing loop's previous round passed
                // it: the sets only grow from round to round, so that is below the fixed point, and
                // nested loops cost a pass each per change instead of doubling per nesting level.
                BitSet known = loopHeads.get(st);
                BitSet head = known == null ? new BitSet() : (BitSet) known.clone();
                while (true) {
                    labels.add(head);
                    BitSet in = sequence(st.body(), liveOut);
                    labels.remove(labels.size() - 1);
                    in.or(head);
                    if (in.equals(head)) {
                        loopHeads.put(st, (BitSet) in.clone());
                        return in;
                    }
                    head = in;
                }
            }
            case IF: {
                labels.add(liveOut);
                BitSet in = sequence(st.body(), liveOut);
                in.or(sequence(((IfInstruction) st).elseBody(), liveOut));
                labels.remove(labels.size() - 1);
                return in;
            }
            case TRY_TABLE: {
                BitSet handler = new BitSet();
                for (Catch c : ((TryTableInstruction) st).catches()) {
                    handler.or(label(c.label()));
                }
                handlers.add(handler);
                labels.add(liveOut);
                BitSet in = sequence(st.body(), liveOut);
                labels.remove(labels.size() - 1);
                handlers.remove(handlers.size() - 1);
                return in;
            }
            default:
                throw new IllegalStateException(st.opcode().toString());
        }
    }
}
