package io.asyncify4j.asyncify;

import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.model.ElementSegment;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Function;
import io.asyncify4j.wasm.model.Global;
import io.asyncify4j.wasm.model.Import;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.Table;
import io.asyncify4j.wasm.ir.Instruction;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Decides which functions can change the asyncify state (so their callers must be instrumented) and
 * which functions are instrumented, with the reason for each.
 *
 * <p>Indirect calls are filtered by signature: a {@code call_indirect} or {@code call_ref} of type T
 * can only reach address-taken functions (in an element segment or named by {@code ref.func}) of a
 * structurally equal type, plus imported functions of that type when a table is shared with the host.
 */
final class StateAnalysis {
    private final ModuleModel m;
    private final AsyncifyOptions options;
    private final int importedFunctions;
    private final Map<Integer, RuntimeRole> runtimeImports;

    /** Roles of the pure-wasm runtime imports. */
    enum RuntimeRole { START_UNWIND, STOP_UNWIND, START_REWIND, STOP_REWIND, GET_STATE }

    final BitSet changesState = new BitSet();
    final BitSet instrumented = new BitSet();
    final BitSet topMostRuntime = new BitSet();
    final BitSet bottomMostRuntime = new BitSet();
    /** Why a function changes state: the callee (or a description) that made it so. */
    final Map<Integer, String> reason = new LinkedHashMap<>();
    /** The callee through which a function changes state, when that is the reason. */
    private final Map<Integer, Integer> reasonCallee = new HashMap<>();
    /** Function types (by structural equality) whose indirect calls may unwind. */
    private final Set<FuncType> unwindingIndirectTypes = new HashSet<>();
    private final Map<FuncType, List<Integer>> indirectCandidates = new HashMap<>();
    private final List<String> warnings = new ArrayList<>();

    StateAnalysis(ModuleModel m, AsyncifyOptions options, Map<Integer, RuntimeRole> runtimeImports) {
        this.m = m;
        this.options = options;
        this.importedFunctions = m.importedFunctionCount();
        this.runtimeImports = runtimeImports;
    }

    private BitSet addListed = new BitSet();

    /** Whether {@code f} is in the add-list (its indirect calls then count as unwinding). */
    boolean addListed(int f) {
        return addListed.get(f);
    }

    List<String> warnings() {
        return warnings;
    }

    static Pattern glob(String pattern) {
        StringBuilder re = new StringBuilder();
        for (char c : pattern.toCharArray()) {
            if (c == '*') {
                re.append(".*");
            } else {
                re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(re.toString());
    }

    /** Whether the import at {@code funcIndex} may unwind, per the options. */
    private boolean importMayUnwind(int funcIndex, List<Pattern> patterns) {
        if (runtimeImports.containsKey(funcIndex)) {
            return false;
        }
        Import own = m.functionImport(funcIndex);
        if (own.module().equals(AsyncifyAbi.SUSPEND_MODULE)) {
            // The transform's own suspension points always unwind; its other imports never do.
            return own.name().equals(AsyncifyAbi.SUSPEND_IMPORT) || own.name().equals(AsyncifyAbi.FUEL_EXHAUSTED_IMPORT);
        }
        if (options.ignoreImports()) {
            return false;
        }
        if (patterns == null) {
            return true;
        }
        Import imp = m.functionImport(funcIndex);
        String full = imp.module() + "." + imp.name();
        for (Pattern p : patterns) {
            if (p.matcher(full).matches()) {
                return true;
            }
        }
        return false;
    }

    void run() {
        tableSharedWithHost(); // fixed before the transform adds tables of its own
        List<Pattern> patterns = null;
        if (options.unwindingImports() != null) {
            patterns = new ArrayList<>();
            for (String s : options.unwindingImports()) {
                patterns.add(glob(s));
            }
        }
        for (int f = 0; f < importedFunctions; f++) {
            if (importMayUnwind(f, patterns)) {
                changesState.set(f);
                reason.put(f, "import " + m.functionImport(f) + " may unwind");
            }
        }
        BitSet removed = resolve(options.removeList(), "remove-list");
        BitSet added = resolve(options.addList(), "add-list");
        addListed = added;
        BitSet only = options.onlyList() == null ? null : resolve(options.onlyList(), "only-list");

        // Direct callees and indirect call types per defined function.
        int n = m.functions().size();
        List<Set<Integer>> callees = new ArrayList<>();
        List<Set<FuncType>> indirectTypes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Set<Integer> direct = new HashSet<>();
            Set<FuncType> indirect = new HashSet<>();
            int self = importedFunctions + i;
            InstructionWalker.forEachSimple(m.functions().get(i).body(), s -> {
                switch (s.opcode()) {
                    case CALL:
                    case RETURN_CALL: {
                        int callee = s.index();
                        direct.add(callee);
                        RuntimeRole role = runtimeImports.get(callee);
                        if (role == RuntimeRole.START_UNWIND || role == RuntimeRole.STOP_REWIND) {
                            topMostRuntime.set(self);
                        } else if (role == RuntimeRole.STOP_UNWIND || role == RuntimeRole.START_REWIND) {
                            bottomMostRuntime.set(self);
                        }
                        break;
                    }
                    case CALL_INDIRECT:
                    case RETURN_CALL_INDIRECT:
                    case CALL_REF:
                    case RETURN_CALL_REF:
                        indirect.add(m.funcType((int) s.immediate(0)));
                        break;
                    default:
                        break;
                }
            });
            callees.add(direct);
            indirectTypes.add(indirect);
        }
        computeIndirectCandidates();

        for (int f = topMostRuntime.nextSetBit(0); f >= 0; f = topMostRuntime.nextSetBit(f + 1)) {
            if (bottomMostRuntime.get(f)) {
                continue;
            }
            changesState.set(f);
            reason.put(f, "calls the asyncify runtime (start_unwind/stop_rewind) directly");
        }
        if (options.propagateAddList()) {
            for (int f = added.nextSetBit(0); f >= 0; f = added.nextSetBit(f + 1)) {
                changesState.set(f);
                reason.putIfAbsent(f, "in the add-list");
            }
        }

        // Backwards over callers from every function known to change state, each function and each
        // indirect call type visited once (a worklist: linear in the call graph, where a fixed point
        // over all functions would take as many rounds as the longest call chain). Bottom-most runtime
        // and removed functions stop the propagation.
        int total = importedFunctions + n;
        int[] callerCount = new int[total + 1];
        for (int i = 0; i < n; i++) {
            for (int callee : callees.get(i)) {
                callerCount[callee + 1]++;
            }
        }
        for (int f = 0; f < total; f++) {
            callerCount[f + 1] += callerCount[f];
        }
        int[] callers = new int[callerCount[total]];
        int[] fill = java.util.Arrays.copyOf(callerCount, total);
        for (int i = 0; i < n; i++) {
            for (int callee : callees.get(i)) {
                callers[fill[callee]++] = importedFunctions + i;
            }
        }
        Map<FuncType, List<Integer>> indirectCallers = new HashMap<>();
        for (int i = 0; i < n; i++) {
            for (FuncType t : indirectTypes.get(i)) {
                indirectCallers.computeIfAbsent(t, k -> new ArrayList<>()).add(importedFunctions + i);
            }
        }
        Map<Integer, List<FuncType>> candidateOf = new HashMap<>();
        indirectCandidates.forEach((t, fs) -> fs.forEach(f -> candidateOf.computeIfAbsent(f, k -> new ArrayList<>()).add(t)));
        java.util.ArrayDeque<Integer> work = new java.util.ArrayDeque<>();
        for (int f = changesState.nextSetBit(0); f >= 0; f = changesState.nextSetBit(f + 1)) {
            work.add(f);
        }
        if (!options.ignoreIndirect() && tableSharedWithHost()) {
            for (int i = 0; i < n; i++) {
                if (!indirectTypes.get(i).isEmpty()) {
                    markIndirect(importedFunctions + i, indirectTypes.get(i).iterator().next(), removed, work);
                }
            }
        }
        while (!work.isEmpty()) {
            int g = work.poll();
            for (int k = callerCount[g]; k < callerCount[g + 1]; k++) {
                int f = callers[k];
                if (eligible(f, removed)) {
                    changesState.set(f);
                    reason.put(f, "calls " + m.functionDisplayName(g));
                    reasonCallee.put(f, g);
                    work.add(f);
                }
            }
            if (options.ignoreIndirect()) {
                continue;
            }
            for (FuncType t : candidateOf.getOrDefault(g, List.of())) {
                if (unwindingIndirectTypes.add(t)) {
                    for (int f : indirectCallers.getOrDefault(t, List.of())) {
                        markIndirect(f, t, removed, work);
                    }
                }
            }
        }

        for (int i = 0; i < n; i++) {
            int f = importedFunctions + i;
            boolean inst;
            if (only != null) {
                inst = only.get(f);
            } else {
                inst = (changesState.get(f) && !topMostRuntime.get(f) && !bottomMostRuntime.get(f) && !removed.get(f))
                        || added.get(f);
            }
            if (inst) {
                instrumented.set(f);
                if (added.get(f)) {
                    reason.putIfAbsent(f, "in the add-list");
                } else if (only != null) {
                    reason.put(f, "in the only-list");
                }
            }
            // A bottom-most runtime function calling unwinding code is the normal driver pattern; a
            // top-most one doing so is the signature of a runtime function inlined into program code.
            if (topMostRuntime.get(f) && !bottomMostRuntime.get(f)) {
                for (int callee : callees.get(i)) {
                    if (changesState.get(callee) && !topMostRuntime.get(callee) && !runtimeImports.containsKey(callee)) {
                        warnings.add("runtime function " + m.functionDisplayName(f) + " calls "
                                + m.functionDisplayName(callee) + ", which can unwind: a runtime function is "
                                + "never instrumented, so this call cannot be paused (the hazard of inlining a "
                                + "runtime function into instrumented code, Binaryen issue #4681)");
                    }
                }
            }
        }
    }

    private boolean eligible(int f, BitSet removed) {
        return !changesState.get(f) && !bottomMostRuntime.get(f) && !removed.get(f);
    }

    private void markIndirect(int f, FuncType t, BitSet removed, java.util.Deque<Integer> work) {
        if (eligible(f, removed)) {
            changesState.set(f);
            reason.put(f, "makes an indirect call of type " + t + " that may unwind");
            work.add(f);
        }
    }

    /**
     * Whether a table (hence arbitrary host functions) is shared with the outside world, in the module as
     * analysed, or the module imports references to functions (a funcref global, an import returning
     * one), which its tables may then hold: an indirect call may reach a function of another module or
     * of the host. Decided once, since the tables the transform adds and exports later (saved
     * references) hold no functions the host put there.
     */
    boolean tableSharedWithHost() {
        if (sharedTable == null) {
            sharedTable = m.importCount(ExternalKind.TABLE) > 0
                    || m.exports().stream().anyMatch(e -> e.kind() == ExternalKind.TABLE)
                    || importsFunctionReferences();
        }
        return sharedTable;
    }

    private boolean importsFunctionReferences() {
        for (Import imp : m.imports()) {
            List<io.asyncify4j.wasm.model.ValType> carried = imp.kind() == ExternalKind.GLOBAL
                    ? List.of(imp.global().type())
                    : imp.kind() == ExternalKind.FUNCTION ? m.funcType(imp.typeIndex()).results() : List.of();
            for (io.asyncify4j.wasm.model.ValType t : carried) {
                long heap = t.isRef() ? t.heapType() : Long.MIN_VALUE;
                if (heap == io.asyncify4j.wasm.model.HeapType.FUNC
                        || (heap >= 0 && m.type((int) heap).composite() instanceof FuncType)) {
                    return true;
                }
            }
        }
        return false;
    }

    private Boolean sharedTable;

    /** Functions in a table, referenced by {@code ref.func}, or reachable through a host-shared table. */
    final BitSet addressTaken = new BitSet();

    private void computeIndirectCandidates() {
        BitSet taken = addressTaken;
        taken.or(referencedFunctions(m));
        if (tableSharedWithHost()) {
            for (int f = 0; f < importedFunctions; f++) {
                taken.set(f);
            }
            m.exports().stream().filter(e -> e.kind() == ExternalKind.FUNCTION).forEach(e -> taken.set(e.index()));
        }
        for (int f = taken.nextSetBit(0); f >= 0; f = taken.nextSetBit(f + 1)) {
            if (f < m.functionCount()) {
                indirectCandidates.computeIfAbsent(m.functionType(f), k -> new ArrayList<>()).add(f);
            }
        }
    }

    /** Functions in an element segment or named by {@code ref.func} anywhere in the module. */
    static BitSet referencedFunctions(ModuleModel m) {
        BitSet taken = new BitSet();
        for (ElementSegment e : m.elements()) {
            if (e.functionIndices() != null) {
                e.functionIndices().forEach(taken::set);
            } else {
                e.expressions().forEach(x -> InstructionWalker.forEachSimple(x, s -> {
                    if (s.opcode() == Opcode.REF_FUNC) {
                        taken.set(s.index());
                    }
                }));
            }
        }
        for (Function f : m.functions()) {
            InstructionWalker.forEachSimple(f.body(), s -> {
                if (s.opcode() == Opcode.REF_FUNC) {
                    taken.set(s.index());
                }
            });
        }
        for (Global g : m.globals()) {
            InstructionWalker.forEachSimple(g.init(), s -> {
                if (s.opcode() == Opcode.REF_FUNC) {
                    taken.set(s.index());
                }
            });
        }
        for (Table t : m.tables()) {
            if (t.init() != null) {
                InstructionWalker.forEachSimple(t.init(), s -> {
                    if (s.opcode() == Opcode.REF_FUNC) {
                        taken.set(s.index());
                    }
                });
            }
        }
        return taken;
    }

    /** Whether an indirect call of type {@code t} may unwind. */
    boolean indirectMayUnwind(FuncType t) {
        return !options.ignoreIndirect() && (unwindingIndirectTypes.contains(t) || tableSharedWithHost());
    }

    /** Resolves a function list (names or indices) to function indices; unknown entries are errors. */
    private BitSet resolve(List<String> names, String listName) {
        BitSet out = new BitSet();
        if (names.isEmpty()) {
            return out;
        }
        Map<String, Integer> byName = new HashMap<>();
        if (m.names() != null) {
            m.names().functionNames().forEach((i, name) -> byName.put(name, i));
        }
        for (String entry : names) {
            String key = entry.startsWith("$") ? entry.substring(1) : entry;
            Integer idx = byName.get(key);
            if (idx == null && key.chars().allMatch(Character::isDigit)) {
                idx = Integer.parseInt(key);
                if (idx >= m.functionCount()) {
                    throw new AsyncifyException(listName + " names function index " + idx
                            + ", but the module has only " + m.functionCount() + " functions");
                }
            }
            if (idx == null) {
                Pattern p = glob(key);
                boolean any = false;
                for (Map.Entry<String, Integer> e : byName.entrySet()) {
                    if (key.contains("*") && p.matcher(e.getKey()).matches()) {
                        out.set(e.getValue());
                        any = true;
                    }
                }
                if (!any) {
                    throw new AsyncifyException(listName + " names unknown function '" + entry
                            + "' (not in the name section, not an index)");
                }
                continue;
            }
            out.set(idx);
        }
        return out;
    }

    /** The reason behind every function that changes state or is instrumented, as parent pointers. */
    Map<Integer, AsyncifyReport.Reason> reasons() {
        Map<Integer, AsyncifyReport.Reason> out = new HashMap<>();
        reason.forEach((f, why) -> out.put(f, new AsyncifyReport.Reason(m.functionDisplayName(f), why,
                reasonCallee.getOrDefault(f, -1))));
        return out;
    }

    /** The callee through which {@code f} changes state, or -1. */
    int via(int f) {
        return reasonCallee.getOrDefault(f, -1);
    }
}
