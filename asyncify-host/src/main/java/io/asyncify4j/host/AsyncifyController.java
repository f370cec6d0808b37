package io.asyncify4j.host;

import run.endive.runtime.ExportFunction;
import run.endive.runtime.GlobalInstance;
import run.endive.runtime.Instance;
import run.endive.runtime.Memory;
import run.endive.runtime.TableInstance;
import io.asyncify4j.asyncify.AsyncifyAbi;
import io.asyncify4j.engine.References;
import java.util.ArrayList;
import java.util.List;

/**
 * Owns an instance's asyncify data and drives the asyncify state machine: start/stop unwind and
 * rewind, and moving a suspended call's saved stack out of the data memory (into a {@link SavedStack})
 * and back. Because a suspended call's stack is moved out, any number of calls can be suspended on one
 * instance, each with its own stack, and an abandoned call costs nothing to drop.
 *
 * <p>Two kinds of modules: those asyncified by asyncify4j at load time (the default: the state global
 * is imported from the host and the data lives in a secondary memory the guest cannot address, growing
 * on demand up to a limit), and modules asyncified ahead of time by Binaryen's {@code wasm-opt
 * --asyncify}, whose data lives in a region of their own memory 0 ({@link DataRegion}) and whose state
 * is reached through the exported asyncify functions.
 *
 * <p>Not thread-safe: used only by the thread currently running the instance.
 */
final class AsyncifyController {
    private final Instance instance;
    private final GlobalInstance ownState; // null for Binaryen modules
    private final Memory data;
    /** {@code data} when it holds bytes only while a stack moves through it (our transform's), else null. */
    private final AsyncifyDataMemory borrowed;
    private final int structAddress;
    private final int stackStart;
    private final int regionEnd; // -1: up to the end of the memory, which may grow
    private final ExportFunction startUnwind;
    private final ExportFunction stopUnwind;
    private final ExportFunction startRewind;
    private final ExportFunction stopRewind;
    private final ExportFunction getState;
    private final List<RefStack> refStacks = new ArrayList<>();
    private final List<GlobalInstance> coroutineGlobals;

    /** A table of saved references with its stack-top global. */
    private record RefStack(TableInstance table, GlobalInstance top) {
        /** Whether the engine keeps this table's entries as objects (externref, GC references). */
        boolean objects() {
            return References.isObject(table.elementType());
        }
    }

    private AsyncifyController(Instance instance, GlobalInstance ownState, Memory data, int structAddress,
                               int regionEnd, List<GlobalInstance> coroutineGlobals) {
        this.instance = instance;
        this.ownState = ownState;
        this.data = data;
        this.borrowed = data instanceof AsyncifyDataMemory d ? d : null;
        this.structAddress = structAddress;
        this.stackStart = structAddress + 8;
        this.regionEnd = regionEnd;
        this.startUnwind = instance.export(AsyncifyAbi.START_UNWIND);
        this.stopUnwind = instance.export(AsyncifyAbi.STOP_UNWIND);
        this.startRewind = instance.export(AsyncifyAbi.START_REWIND);
        this.stopRewind = instance.export(AsyncifyAbi.STOP_REWIND);
        this.getState = instance.export(AsyncifyAbi.GET_STATE);
        this.coroutineGlobals = coroutineGlobals;
        for (String hierarchy : List.of("func", "extern", "any", "exn")) {
            if (io.asyncify4j.engine.ModuleExports.has(instance.module(), AsyncifyAbi.REF_TABLE_EXPORT_PREFIX + hierarchy)) {
                refStacks.add(new RefStack(instance.exports().table(AsyncifyAbi.REF_TABLE_EXPORT_PREFIX + hierarchy),
                        instance.exports().global(AsyncifyAbi.REF_TOP_EXPORT_PREFIX + hierarchy)));
            }
        }
    }

    /** For a module asyncified by asyncify4j: imported state, secondary data memory. */
    static AsyncifyController forOwnTransform(Instance instance, GlobalInstance state,
                                              List<GlobalInstance> coroutineGlobals) {
        Memory data = instance.exports().memory(AsyncifyAbi.DATA_MEMORY_EXPORT);
        return new AsyncifyController(instance, state, data, AsyncifyAbi.SECONDARY_DATA_ADDRESS, -1, coroutineGlobals);
    }

    /** For a module asyncified by Binaryen: a region of memory 0 holds the data structure and the stack. */
    static AsyncifyController forBinaryenModule(Instance instance, int regionStart, int regionSize,
                                                List<GlobalInstance> coroutineGlobals) {
        AsyncifyController c = new AsyncifyController(instance, null, instance.memory(), regionStart,
                regionStart + regionSize, coroutineGlobals);
        c.resetStack();
        return c;
    }

    int state() {
        return ownState != null ? (int) ownState.getValue() : (int) getState.apply()[0];
    }

    /** Called in an async import: the guest unwinds from here to the export call. */
    void startUnwind() {
        if (borrowed != null) {
            if (!borrowed.borrow(1)) {
                throw new IllegalStateException("cannot grow the asyncify data memory to suspend a call");
            }
            data.writeI32(structAddress, stackStart);
            data.writeI32(structAddress + 4, data.pages() * Memory.PAGE_SIZE);
            ownState.setValue(AsyncifyAbi.STATE_UNWINDING);
        } else if (ownState != null) {
            if (data.pages() == 0 && data.grow(1) < 0) {
                // The data memory starts empty (an instance that never suspends costs nothing for it).
                throw new IllegalStateException("cannot grow the asyncify data memory to suspend a call");
            }
            ownState.setValue(AsyncifyAbi.STATE_UNWINDING); // the data pointer never changes
        } else {
            startUnwind.apply(structAddress);
        }
    }

    void stopUnwind() {
        if (ownState != null) {
            ownState.setValue(AsyncifyAbi.STATE_NORMAL);
        } else {
            stopUnwind.apply();
        }
    }

    void startRewind() {
        if (ownState != null) {
            ownState.setValue(AsyncifyAbi.STATE_REWINDING);
        } else {
            startRewind.apply(structAddress);
        }
    }

    /** Called in the async import reached again by the rewind: the guest continues normally from here. */
    void stopRewind() {
        if (ownState != null) {
            ownState.setValue(AsyncifyAbi.STATE_NORMAL);
            release(); // the stack is back in the guest's frames
        } else {
            stopRewind.apply();
        }
    }

    private static final long[] NO_GLOBALS = new long[0];

    /** Moves the stack of the call that just unwound (and its per-coroutine state) out of the instance. */
    SavedStack takeStack() {
        int position = data.readInt(structAddress);
        byte[] frames = data.readBytes(stackStart, position - stackStart);
        List<SavedStack.Refs> refs = refStacks.isEmpty() ? List.of() : new ArrayList<>(); // held per suspended call
        for (RefStack s : refStacks) {
            int top = (int) s.top().getValue();
            int[] values = new int[top];
            Object[] objects = s.objects() ? new Object[top] : null;
            Instance[] owners = new Instance[top];
            for (int i = 0; i < top; i++) {
                values[i] = s.table().ref(i);
                if (objects != null) {
                    objects[i] = s.table().objRef(i);
                }
                owners[i] = s.table().instance(i);
            }
            refs.add(new SavedStack.Refs(values, objects, owners));
            s.top().setValue(0);
        }
        long[] globals = coroutineGlobals.isEmpty() ? NO_GLOBALS : new long[coroutineGlobals.size()];
        for (int i = 0; i < globals.length; i++) {
            globals[i] = coroutineGlobals.get(i).getValue();
        }
        if (borrowed != null) {
            borrowed.release(); // the stack is on the heap now
        } else {
            data.writeI32(structAddress, stackStart);
        }
        return new SavedStack(frames, refs, globals);
    }

    /** Puts a suspended call's stack back, ready for {@link #startRewind()}. */
    void restoreStack(SavedStack saved) {
        int needed = stackStart + saved.frames().length;
        if (borrowed != null) {
            if (!borrowed.borrow((int) ((needed + (long) Memory.PAGE_SIZE - 1) / Memory.PAGE_SIZE))) {
                throw new IllegalStateException("cannot grow the asyncify data memory to resume a call");
            }
            data.writeI32(structAddress + 4, data.pages() * Memory.PAGE_SIZE);
        } else if (regionEnd < 0) {
            long available = (long) data.pages() * Memory.PAGE_SIZE;
            if (needed > available) {
                int pages = (int) ((needed - available + Memory.PAGE_SIZE - 1) / Memory.PAGE_SIZE);
                if (data.grow(pages) < 0) {
                    throw new IllegalStateException("cannot grow the asyncify data memory to resume a call");
                }
            }
            data.writeI32(structAddress + 4, data.pages() * Memory.PAGE_SIZE);
        }
        data.write(stackStart, saved.frames());
        data.writeI32(structAddress, needed);
        for (int i = 0; i < refStacks.size(); i++) {
            RefStack s = refStacks.get(i);
            SavedStack.Refs r = saved.refs().get(i);
            if (s.table().size() < r.values().length) {
                s.table().grow(r.values().length - s.table().size(), 0, instance);
            }
            for (int j = 0; j < r.values().length; j++) {
                if (r.objects() != null) {
                    s.table().setObjRef(j, r.objects()[j], r.owners()[j]);
                } else {
                    s.table().setRef(j, r.values()[j], r.owners()[j]);
                }
            }
            s.top().setValue(r.values().length);
        }
        for (int i = 0; i < saved.globals().length; i++) {
            coroutineGlobals.get(i).setValue(saved.globals()[i]);
        }
    }

    /** After a trap: back to normal state with an empty stack, so the instance can take new calls. */
    void reset() {
        if (ownState != null) {
            ownState.setValue(AsyncifyAbi.STATE_NORMAL);
            release();
        } else if (state() != AsyncifyAbi.STATE_NORMAL) {
            resetStack();
            stopUnwind.apply(); // sets the state to normal; the stack was just reset, so its check passes
        }
        resetStack();
        for (RefStack s : refStacks) {
            s.top().setValue(0);
        }
    }

    /** Empties a data memory that holds bytes only while a stack moves through it. */
    private void release() {
        if (borrowed != null) {
            borrowed.release();
        }
    }

    private void resetStack() {
        if (regionEnd >= 0) {
            data.writeI32(structAddress, stackStart);
            data.writeI32(structAddress + 4, regionEnd);
        } else if (data.pages() > 0 && data.readInt(structAddress + 4) != 0) {
            data.writeI32(structAddress, stackStart);
        }
    }

    /** The function and kind of the last fault the instrumented code reported, or null. */
    Fault fault() {
        try {
            int kind = (int) instance.exports().global(AsyncifyAbi.FAULT_KIND_GLOBAL).getValue();
            if (kind == 0) {
                return null;
            }
            GlobalInstance fn = instance.exports().global(AsyncifyAbi.FAULT_FUNCTION_GLOBAL);
            Fault f = new Fault(kind, (int) fn.getValue());
            instance.exports().global(AsyncifyAbi.FAULT_KIND_GLOBAL).setValue(0);
            fn.setValue(-1);
            return f;
        } catch (RuntimeException e) {
            return null; // a Binaryen module has no fault globals
        }
    }

    /** Bytes the asyncify stack may use. */
    long stackLimit(long secondaryMemoryBytes) {
        return regionEnd >= 0 ? regionEnd - stackStart : secondaryMemoryBytes - stackStart;
    }

    record Fault(int kind, int functionIndex) {}
}
