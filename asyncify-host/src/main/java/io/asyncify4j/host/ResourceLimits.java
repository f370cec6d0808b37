package io.asyncify4j.host;

import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.Import;
import io.asyncify4j.wasm.model.Limits;
import io.asyncify4j.wasm.model.MemoryType;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.Table;
import io.asyncify4j.wasm.model.TableType;

/**
 * The most memory and table space a guest may have, applied to the module before it is asyncified: every
 * memory's and table's maximum (defined or imported) is lowered to the cap, never raised above the
 * module's own; a module that needs more than the caps at instantiation is refused. The asyncify data
 * memory the transform adds afterwards is bounded separately by the asyncify stack limit.
 *
 * @param maxMemoryPages most 64 KiB pages of each memory
 * @param maxTableElements most elements of each table
 * @param maxGuestBytes most bytes of all memories (64 KiB a page) and tables (8 bytes an element) together,
 *     counted at their maximum sizes
 */
record ResourceLimits(long maxMemoryPages, long maxTableElements, long maxGuestBytes) {
    static final long PAGE = 65536;
    static final long TABLE_ELEMENT_BYTES = 8;

    /** Lowers every maximum in place to the caps; fails when a minimum exceeds them. */
    void apply(ModuleModel m) {
        long total = 0;
        int memoryIndex = 0;
        int tableIndex = 0;
        for (int i = 0; i < m.imports().size(); i++) {
            Import imp = m.imports().get(i);
            if (imp.kind() == ExternalKind.MEMORY) {
                MemoryType t = imp.memory();
                Limits l = capped(t.limits(), maxMemoryPages, "memory " + memoryIndex + " (imported as "
                        + imp.module() + "." + imp.name() + ")", "pages");
                m.imports().set(i, Import.memory(imp.module(), imp.name(), new MemoryType(l)));
                total = addBytes(total, l.max() * PAGE, "memory " + memoryIndex);
                memoryIndex++;
            } else if (imp.kind() == ExternalKind.TABLE) {
                TableType t = imp.table();
                Limits l = capped(t.limits(), maxTableElements, "table " + tableIndex + " (imported as "
                        + imp.module() + "." + imp.name() + ")", "elements");
                m.imports().set(i, Import.table(imp.module(), imp.name(), new TableType(t.elementType(), l)));
                total = addBytes(total, l.max() * TABLE_ELEMENT_BYTES, "table " + tableIndex);
                tableIndex++;
            }
        }
        for (int i = 0; i < m.memories().size(); i++, memoryIndex++) {
            Limits l = capped(m.memories().get(i).limits(), maxMemoryPages, "memory " + memoryIndex, "pages");
            m.memories().set(i, new MemoryType(l));
            total = addBytes(total, l.max() * PAGE, "memory " + memoryIndex);
        }
        for (int i = 0; i < m.tables().size(); i++, tableIndex++) {
            Table t = m.tables().get(i);
            Limits l = capped(t.type().limits(), maxTableElements, "table " + tableIndex, "elements");
            m.tables().set(i, new Table(new TableType(t.type().elementType(), l), t.init()));
            total = addBytes(total, l.max() * TABLE_ELEMENT_BYTES, "table " + tableIndex);
        }
    }

    private long addBytes(long total, long bytes, String what) {
        long sum = total + bytes;
        if (sum > maxGuestBytes || sum < 0) {
            throw new LimitExceededException(null, "the guest may grow to " + sum + " bytes of memories and tables"
                    + " (at " + what + ", counting every maximum), more than maxGuestBytes " + maxGuestBytes
                    + ": lower maxMemoryPages/maxTableElements or raise maxGuestBytes", null);
        }
        return sum;
    }

    private static Limits capped(Limits l, long cap, String what, String unit) {
        if (l.min() > cap) {
            throw new LimitExceededException(null, what + " needs " + l.min() + " " + unit + " at instantiation, more than"
                    + " the limit of " + cap, null);
        }
        long ownMax = l.hasMax() ? l.max() : (unit.equals("pages") ? (l.address64() ? Long.MAX_VALUE : 65536) : 0xFFFF_FFFFL);
        return new Limits(l.min(), Math.min(ownMax, cap), l.shared(), l.address64());
    }
}
