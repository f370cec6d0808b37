package io.asyncify4j.adversarial;

import io.asyncify4j.engine.EngineErrors;
import io.asyncify4j.engine.EngineTypes;
import io.asyncify4j.engine.Engines;
import run.endive.runtime.GlobalInstance;
import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportGlobal;
import run.endive.runtime.ImportMemory;
import run.endive.runtime.ImportTable;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.runtime.TableInstance;
import run.endive.wasm.WasmModule;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.MutabilityType;
import run.endive.wasm.types.Table;
import run.endive.wasm.types.TableLimits;
import run.endive.wasm.types.Value;
import io.asyncify4j.asyncify.Asyncify;
import io.asyncify4j.asyncify.AsyncifyOptions;
import io.asyncify4j.host.AsyncInstance;
import io.asyncify4j.wasm.binary.WasmFormatException;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.Export;
import io.asyncify4j.wasm.model.ExternalKind;
import io.asyncify4j.wasm.model.FuncType;
import io.asyncify4j.wasm.model.Import;
import io.asyncify4j.wasm.model.Limits;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.ValType;
import io.asyncify4j.wasm.validation.Validator;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs one module through every stage a guest goes through: our decoder, our validator, the asyncify
 * transform, the engine, Endive (parse and instantiate, without running the start function), and
 * {@link AsyncInstance} (build, which runs the start function, and call every export with zero
 * arguments, under a fuel budget).
 * Stages after validation run only on modules our validator accepts. Each stage's outcome is recorded
 * as {@code stage:kind}; an exception that is not one of the typed kinds (our
 * {@link WasmFormatException}s, the engine's exceptions, which the host's typed exceptions
 * extend, and the engine's WasmException for an uncaught wasm exception) is a {@link Finding}.
 */
public final class CaseRunner {
    /** Fuel budget of every AsyncInstance call. */
    public static final long FUEL_BUDGET = 1_000_000;
    /** Memory pages a case may use (plain engine and AsyncInstance). */
    public static final int MAX_PAGES = 256;
    /** Largest table a case may declare before it is skipped (engines allocate tables eagerly). */
    public static final long MAX_TABLE = 100_000;
    /** Seconds an AsyncInstance call under the fuel budget may take before it counts as a hang. */
    static final long HOST_CALL_SECONDS = Long.getLong("asyncify4j.fuzz.hostCallSeconds", 30);


    /**
     * Threads of the AsyncInstance calls: small stacks (4 MB), so a runaway recursion overflows after a
     * bounded depth whatever -Xss says (on deep stacks every garbage collection scans the whole stack,
     * and a recursion millions of frames deep takes minutes to overflow).
     */
    private static final java.util.concurrent.ExecutorService GUESTS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(null, r, "fuzz-guest", 4L << 20);
        t.setDaemon(true);
        return t;
    });

    /** An untyped exception (or hang) found in a stage. */
    public static final class Finding extends Exception {
        public final String stage;

        public Finding(String stage, Throwable cause) {
            super(stage + ": " + cause, cause);
            this.stage = stage;
        }

        public Finding(String stage, String message) {
            super(stage + ": " + message);
            this.stage = stage;
        }
    }

    private final Map<String, String> outcomes = new LinkedHashMap<>();

    /** Outcomes of the stages that ran, in order: stage → kind. */
    public Map<String, String> outcomes() {
        return outcomes;
    }

    /** Whether {@code t} is an exception a caller is promised (typed), after unwrapping futures. */
    public static boolean typed(Throwable t) {
        // An uncaught wasm exception (throw with no handler) is the engine's own typed outcome.
        return t instanceof WasmFormatException || EngineErrors.isEngineException(t)
                || EngineErrors.isUncaughtWasmException(t);
    }

    static String kind(Throwable t) {
        return t.getClass().getSimpleName();
    }

    /** Runs {@code wasm} through every stage; returns normally when only typed outcomes occurred. */
    public void run(byte[] wasm) throws Finding {
        ModuleModel model;
        try {
            model = WasmCodec.decode(wasm);
            outcomes.put("decode", "ok");
        } catch (RuntimeException | StackOverflowError e) {
            record("decode", e);
            return;
        }
        try {
            Validator.validate(model);
            outcomes.put("validate", "ok");
        } catch (RuntimeException | StackOverflowError e) {
            record("validate", e);
            return;
        }
        try {
            Asyncify.transform(wasm, AsyncifyOptions.builder()
                    .dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY)
                    .importState(true).deferStart(true).v128ViaHost(true).build());
            Asyncify.transform(wasm, AsyncifyOptions.builder()
                    .dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY).fuel(true)
                    .suspendAtFunctionEntriesAndLoops(true).build());
            outcomes.put("transform", "ok");
        } catch (RuntimeException | StackOverflowError e) {
            record("transform", e);
        }
        if (usesSimd(model)) {
            // Endive 1.0.x's interpreter has no SIMD ("Machine doesn't recognize Instruction"): nothing to run.
            outcomes.put("run", "skipped (SIMD)");
            return;
        }
        ImportValues imports = stubs(model);
        if (imports == null) {
            outcomes.put("run", "skipped (imports or sizes beyond the fuzz limits)");
            return;
        }
        plain(wasm, model, imports);
        host(wasm, model, imports);
    }

    private void record(String stage, Throwable e) throws Finding {
        if (e instanceof StackOverflowError) {
            throw new Finding(stage, e);
        }
        if (!typed(e)) {
            throw new Finding(stage, e);
        }
        outcomes.put(stage, kind(e));
    }

    private void plain(byte[] wasm, ModuleModel model, ImportValues imports) throws Finding {
        Instance instance;
        try {
            WasmModule module = Engines.parse(wasm);
            // Without the start function: the plain engine has no fuel, so a start function that loops
            // would only end by interruption. Guest code runs metered, in the AsyncInstance stage.
            instance = Engines.builder(module, imports, Engines.Kind.INTERPRETER).withStart(false)
                    .withMemoryFactory(Engines.cappedMemories(MAX_PAGES)).build();
            outcomes.put("engine", "instantiated");
        } catch (RuntimeException e) {
            record("engine", e);
        }
    }

    private void host(byte[] wasm, ModuleModel model, ImportValues imports) throws Finding {
        AsyncInstance guest;
        try {
            AsyncInstance.Builder b = AsyncInstance.builder(wasm).withFuelBudget(FUEL_BUDGET).withMaxMemoryPages(MAX_PAGES)
                    .withExecutor(GUESTS);
            for (var f : imports.functions()) {
                b.withHostFunction(f);
            }
            for (var g : imports.globals()) {
                b.withGlobal(g);
            }
            for (var m : imports.memories()) {
                b.withMemory(m);
            }
            for (var t : imports.tables()) {
                b.withTable(t);
            }
            guest = b.build();
            outcomes.put("host", "built");
        } catch (RuntimeException e) {
            record("host build", e);
            return;
        } catch (StackOverflowError e) {
            outcomes.put("host build", "StackOverflowError (engine recursion)");
            return;
        }
        String last = "ok";
        try (guest) {
            for (Export x : functionExports(model)) {
                CompletableFuture<long[]> f;
                try {
                    f = guest.call(x.name(), zeroArgs(model, x.index()));
                    f.get(HOST_CALL_SECONDS, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    Throwable c = e.getCause();
                    if (c instanceof StackOverflowError) {
                        last = "StackOverflowError (engine recursion)";
                        continue;
                    }
                    if (!typed(c)) {
                        throw new Finding("host call " + x.name(), c);
                    }
                    last = kind(c);
                    if (c instanceof io.asyncify4j.host.FuelExhaustedException
                            || c instanceof io.asyncify4j.host.DeadlineExceededException) {
                        break; // a terminated call discards its instance (by design): no further calls
                    }
                } catch (TimeoutException e) {
                    throw new Finding("host call " + x.name(), "no result within " + HOST_CALL_SECONDS
                            + " s under a fuel budget of " + FUEL_BUDGET);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } catch (RuntimeException e) {
                    if (!typed(e)) {
                        throw new Finding("host call " + x.name(), e);
                    }
                    last = kind(e);
                }
            }
        }
        outcomes.put("host-calls", last);
    }

    /** Whether any code or constant expression uses a SIMD (0xFD-prefixed) instruction. */
    static boolean usesSimd(ModuleModel m) {
        boolean[] found = {false};
        java.util.function.Consumer<List<io.asyncify4j.wasm.ir.Instruction>> scan = new java.util.function.Consumer<>() {
            @Override
            public void accept(List<io.asyncify4j.wasm.ir.Instruction> body) {
                for (io.asyncify4j.wasm.ir.Instruction in : body) {
                    if (in.opcode().prefix == 0xFD) {
                        found[0] = true;
                    }
                    if (in instanceof io.asyncify4j.wasm.ir.StructuredInstruction s) {
                        accept(s.body());
                        if (s instanceof io.asyncify4j.wasm.ir.IfInstruction i) {
                            accept(i.elseBody());
                        }
                    }
                }
            }
        };
        m.functions().forEach(f -> scan.accept(f.body()));
        m.globals().forEach(g -> scan.accept(g.init()));
        return found[0];
    }

    static List<Export> functionExports(ModuleModel m) {
        List<Export> out = new ArrayList<>();
        for (Export x : m.exports()) {
            if (x.kind() == ExternalKind.FUNCTION) {
                out.add(x);
            }
        }
        return out;
    }

    static long[] zeroArgs(ModuleModel m, int function) {
        int slots = 0;
        for (ValType t : m.functionType(function).params()) {
            slots += t.kind() == ValType.Kind.V128 ? 2 : 1;
        }
        long[] args = new long[slots];
        int i = 0;
        for (ValType t : m.functionType(function).params()) {
            if (t.isRef()) {
                args[i] = Value.REF_NULL_VALUE;
            }
            i += t.kind() == ValType.Kind.V128 ? 2 : 1;
        }
        return args;
    }

    /**
     * Stub imports for a module: functions returning zeros, zero globals, small memories and tables;
     * null when an import has a type the stubs do not cover or a size beyond the fuzz limits.
     */
    static ImportValues stubs(ModuleModel m) {
        ImportValues.Builder b = ImportValues.builder();
        for (Import imp : m.imports()) {
            switch (imp.kind()) {
                case FUNCTION: {
                    FuncType t = m.funcType(imp.typeIndex());
                    List<run.endive.wasm.types.ValType> params = EngineTypes.of(t.params());
                    List<run.endive.wasm.types.ValType> results = EngineTypes.of(t.results());
                    if (params == null || results == null) {
                        return null;
                    }
                    int slots = 0;
                    for (ValType r : t.results()) {
                        slots += r.kind() == ValType.Kind.V128 ? 2 : 1;
                    }
                    long[] zeros = new long[slots];
                    int i = 0;
                    for (ValType r : t.results()) {
                        if (r.isRef()) {
                            zeros[i] = Value.REF_NULL_VALUE;
                        }
                        i += r.kind() == ValType.Kind.V128 ? 2 : 1;
                    }
                    boolean none = slots == 0;
                    b.addFunction(new HostFunction(imp.module(), imp.name(), FunctionType.of(params, results),
                            (inst, args) -> none ? null : zeros.clone()));
                    break;
                }
                case GLOBAL: {
                    run.endive.wasm.types.ValType t = EngineTypes.of(imp.global().type());
                    if (t == null) {
                        return null;
                    }
                    long v = imp.global().type().isRef() ? Value.REF_NULL_VALUE : 0;
                    b.addGlobal(new ImportGlobal(imp.module(), imp.name(), new GlobalInstance(v, 0, t,
                            imp.global().mutable() ? MutabilityType.Var : MutabilityType.Const)));
                    break;
                }
                case MEMORY: {
                    Limits l = imp.memory().limits();
                    if (l.address64() || l.min() > MAX_PAGES) {
                        return null;
                    }
                    int max = (int) Math.min(l.hasMax() ? l.max() : MAX_PAGES, MAX_PAGES);
                    b.addMemory(new ImportMemory(imp.module(), imp.name(), Engines.memory((int) l.min(), max, l.shared())));
                    break;
                }
                case TABLE: {
                    run.endive.wasm.types.ValType t = EngineTypes.of(imp.table().elementType());
                    Limits l = imp.table().limits();
                    if (t == null || l.address64() || l.min() > MAX_TABLE) {
                        return null;
                    }
                    long max = l.hasMax() ? Math.min(l.max(), MAX_TABLE) : MAX_TABLE;
                    b.addTable(new ImportTable(imp.module(), imp.name(),
                            new TableInstance(new Table(t, new TableLimits(l.min(), Math.max(max, l.min()))),
                                    Value.REF_NULL_VALUE)));
                    break;
                }
                default:
                    return null;
            }
        }
        for (var t : m.tables()) {
            if (t.type().limits().min() > MAX_TABLE) {
                return null;
            }
        }
        return b.build();
    }
}
