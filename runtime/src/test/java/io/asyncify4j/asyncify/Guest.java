package io.asyncify4j.asyncify;

import static org.assertj.core.api.Assertions.assertThat;

import run.endive.runtime.HostFunction;
import run.endive.runtime.ImportFunction;
import run.endive.runtime.ImportGlobal;
import run.endive.runtime.ImportTable;
import run.endive.runtime.ImportValues;
import run.endive.runtime.Instance;
import run.endive.wasm.types.Value;
import run.endive.runtime.WasmFunctionHandle;
import run.endive.wasm.Parser;
import run.endive.wasm.WasmModule;
import run.endive.wasm.types.FunctionImport;
import run.endive.wasm.types.FunctionType;
import run.endive.wasm.types.Import;
import run.endive.wasm.types.ValType;
import io.asyncify4j.engine.References;
import io.asyncify4j.engine.SuspendPolicy;
import io.asyncify4j.engine.SuspensionDriver;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.ModuleModel;
import io.asyncify4j.wasm.model.NameSection;
import io.asyncify4j.wasm.testutil.Wat;
import io.asyncify4j.wasm.testutil.RoundTrip.Outcome;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs a module plainly on Endive and asyncified under a {@link SuspensionDriver}, with deterministic
 * host imports that log every call, so the two runs can be compared (differential testing).
 *
 * <p>Every function import other than the transform's own ({@code asyncify4j.*}) gets a host function
 * that appends {@code module.name(args)} to the log and returns values computed from its arguments and
 * the number of host calls so far: a run that skips, repeats or reorders a host call, or loses a value
 * across a suspension, produces a different log or result.
 */
final class Guest {
    private Guest() {}

    /** The options of the spec harness's asyncify mode (see AsyncifyPipeline). */
    static AsyncifyOptions.Builder driverOptions() {
        return AsyncifyOptions.builder()
                .dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY)
                .secondaryMemoryPages(1, 16384)
                .importState(true)
                .deferStart(true)
                .v128ViaHost(true);
    }

    /** The outcome of a run, the host-call log, and the number of suspensions. */
    record Run(Outcome outcome, List<String> log, long suspensions) {
        long i32() {
            assertThat(outcome.failure()).as("run failed").isNull();
            return outcome.results()[0];
        }
    }

    /** Deterministic host imports with a call log; {@code overrides} replace single imports by "module.name". */
    static final class Host {
        final List<String> log = new ArrayList<>();
        final Map<String, WasmFunctionHandle> overrides = new HashMap<>();
        long calls;
        /**
         * Whether v128 arguments are seen with their two halves in the order the engine hands them over.
         * Off by default: Endive 1.0.x's interpreter swaps the halves of a v128 on every local.set (a
         * local.set/local.get pair reverses them), so the extra locals the transform spills through
         * change the order a host function sees even though no wasm code can tell. With it off, the
         * halves are sorted first; compare transformed runs with each other to check the order.
         */
        boolean exactV128;

        Host override(String name, WasmFunctionHandle h) {
            overrides.put(name, h);
            return this;
        }

        /** Host functions for every function import of {@code module} not provided by the transform. */
        List<ImportFunction> functionsFor(WasmModule module) {
            List<ImportFunction> out = new ArrayList<>();
            for (int i = 0; i < module.importSection().importCount(); i++) {
                Import imp = module.importSection().getImport(i);
                if (!(imp instanceof FunctionImport fi) || imp.module().equals(AsyncifyAbi.SUSPEND_MODULE)) {
                    continue;
                }
                FunctionType type = module.typeSection().getType(fi.typeIndex());
                String name = imp.module() + "." + imp.name();
                WasmFunctionHandle custom = overrides.get(name);
                out.add(new HostFunction(imp.module(), imp.name(), type, References.withHandles(type, (inst, raw) -> {
                    long n = ++calls;
                    long[] args = normalize(type.params(), raw);
                    if (!exactV128) {
                        sortV128Halves(type.params(), args);
                    }
                    log.add(name + Arrays.toString(args));
                    if (custom != null) {
                        return custom.apply(inst, args);
                    }
                    return results(type, args, n);
                })));
            }
            return out;
        }

        private static long[] results(FunctionType type, long[] args, long n) {
            if (type.returns().isEmpty()) {
                return null;
            }
            long mix = 17 + n * 1_000_003L;
            for (long a : args) {
                mix = mix * 31 + a;
            }
            List<Long> out = new ArrayList<>();
            int k = 0;
            for (ValType t : type.returns()) {
                long v = mix + 7919L * k++;
                if (t.equals(ValType.I32)) {
                    out.add((long) (int) v);
                } else if (t.equals(ValType.I64)) {
                    out.add(v * 0x9E3779B97F4A7C15L);
                } else if (t.equals(ValType.F32)) {
                    out.add(Value.floatToLong((float) (v % 100_000) / 8));
                } else if (t.equals(ValType.F64)) {
                    out.add(Double.doubleToRawLongBits((double) (v % 100_000_000) / 16));
                } else if (t.equals(ValType.V128)) {
                    out.add(v * 3);
                    out.add(v * 5);
                } else if (t.isReference() && t.equals(ValType.ExternRef)) {
                    out.add(1000 + n); // a host handle
                } else {
                    out.add((long) Value.REF_NULL_VALUE);
                }
            }
            return out.stream().mapToLong(Long::longValue).toArray();
        }
    }

    /**
     * Endive may hand over an i32 or f32 with garbage in the upper half of its long slot: keep only the
     * bits the type defines, so equal wasm values compare equal.
     */
    static long[] normalize(List<ValType> types, long[] raw) {
        if (raw == null) {
            return new long[0];
        }
        long[] out = raw.clone();
        int slot = 0;
        for (ValType t : types) {
            if (slot >= out.length) {
                break;
            }
            if (t.equals(ValType.I32)) {
                out[slot] = (int) out[slot];
            } else if (t.equals(ValType.F32)) {
                out[slot] &= 0xFFFF_FFFFL;
            }
            slot += t.equals(ValType.V128) ? 2 : 1;
        }
        return out;
    }

    static void sortV128Halves(List<ValType> types, long[] slots) {
        int slot = 0;
        for (ValType t : types) {
            if (t.equals(ValType.V128) && slot + 1 < slots.length && slots[slot] > slots[slot + 1]) {
                long x = slots[slot];
                slots[slot] = slots[slot + 1];
                slots[slot + 1] = x;
            }
            slot += t.equals(ValType.V128) ? 2 : 1;
        }
    }

    static Outcome outcome(Instance inst, String export, Supplier<long[]> call) {
        try {
            long[] r = normalize(inst.exportType(export).returns(), call.get());
            return new Outcome(r, null);
        } catch (RuntimeException | StackOverflowError e) {
            return new Outcome(null, e.getClass().getName() + ": " + e.getMessage());
        }
    }

    static WasmModule parse(byte[] wasm) {
        return Parser.parse(wasm);
    }

    static byte[] encode(ModuleModel m) {
        return WasmCodec.encode(m);
    }

    private static final Pattern FUNC = Pattern.compile("\\(func(?:\\s+\\$([A-Za-z0-9_.$]+))?");
    private static final Pattern FUNC_TYPE = Pattern.compile("\\(type(\\s+\\$[A-Za-z0-9_.]+)?\\s+\\(func");

    /**
     * Compiles a module text and adds a name section with its function names (Chicory's wat2wasm writes
     * none): every {@code (func $name} in the text, in order, which is index order since the text
     * format puts imports first.
     */
    static byte[] named(String wat) {
        byte[] wasm = Wat.wat(wat);
        ModuleModel m = WasmCodec.decode(wasm);
        Matcher matcher = FUNC.matcher(FUNC_TYPE.matcher(wat).replaceAll("(type (ft"));
        NameSection names = new NameSection();
        names.setAfterSection(11); // after the data section, where tools expect it
        int index = 0;
        while (matcher.find()) {
            if (matcher.group(1) != null) {
                names.functionNames().put(index, matcher.group(1));
            }
            index++;
        }
        assertThat(index).as("functions found in the text").isEqualTo(m.functionCount());
        m.setNames(names);
        return WasmCodec.encode(m);
    }

    /** Runs each argument list on one fresh instance of the untransformed module, imports returning at once. */
    static List<Run> plain(byte[] wasm, String export, long[]... argLists) {
        Host host = new Host();
        return plain(wasm, host, export, argLists);
    }

    static List<Run> plain(byte[] wasm, Host host, String export, long[]... argLists) {
        WasmModule module = parse(wasm);
        Instance inst = Instance.builder(module)
                .withImportValues(ImportValues.builder().withFunctions(host.functionsFor(module)).build()).build();
        List<Run> runs = new ArrayList<>();
        for (long[] args : argLists) {
            int before = host.log.size();
            Outcome o = outcome(inst, export, () -> References.exportWithHandles(inst, export).apply(args));
            runs.add(new Run(o, List.copyOf(host.log.subList(before, host.log.size())), 0));
        }
        return runs;
    }

    /** A transformed module instantiated under a driver: host imports suspend per the driver's policy. */
    static final class Driven {
        final SuspensionDriver driver;
        final Host host;
        final Instance instance;

        Driven(byte[] transformed, SuspendPolicy policy, Host host) {
            this(transformed, new SuspensionDriver(policy), host, List.of());
        }

        Driven(byte[] transformed, SuspensionDriver driver, Host host, List<ImportTable> tables) {
            this.driver = driver;
            this.host = host;
            WasmModule module = parse(transformed);
            this.instance = Instance.builder(module).withImportValues(imports(module, driver, host, tables)).build();
            if (exports(module, AsyncifyAbi.DEFERRED_START_EXPORT)) {
                driver.call(instance.export(AsyncifyAbi.DEFERRED_START_EXPORT));
            }
        }

        Run call(String export, long... args) {
            int before = host.log.size();
            long s = driver.suspensions();
            Outcome o = outcome(instance, export, () -> driver.callWithHandles(instance, export, args));
            return new Run(o, List.copyOf(host.log.subList(before, host.log.size())), driver.suspensions() - s);
        }

        int globalI32(String name) {
            return (int) instance.exports().global(name).getValue();
        }
    }

    static ImportValues imports(WasmModule module, SuspensionDriver driver, Host host, List<ImportTable> tables) {
        List<ImportFunction> functions = new ArrayList<>();
        for (ImportFunction f : host.functionsFor(module)) {
            functions.add(driver.suspending(f));
        }
        for (int i = 0; i < module.importSection().importCount(); i++) {
            Import imp = module.importSection().getImport(i);
            if (imp.module().equals(AsyncifyAbi.SUSPEND_MODULE)) {
                if (imp.name().equals(AsyncifyAbi.SUSPEND_IMPORT)) {
                    functions.add(driver.suspendPoint());
                } else if (imp.name().equals(AsyncifyAbi.V128_LOAD_IMPORT)) {
                    functions.addAll(SuspensionDriver.v128Imports());
                }
            }
        }
        List<ImportGlobal> globals = new ArrayList<>();
        if (module.importSection().stream().anyMatch(i -> i.module().equals(AsyncifyAbi.STATE_IMPORT_MODULE)
                && i.name().equals(AsyncifyAbi.STATE_IMPORT_NAME))) {
            globals.add(driver.stateImport());
        }
        return ImportValues.builder().withFunctions(functions).withGlobals(globals).withTables(tables).build();
    }

    static boolean exports(WasmModule module, String name) {
        for (int i = 0; i < module.exportSection().exportCount(); i++) {
            if (module.exportSection().getExport(i).name().equals(name)) {
                return true;
            }
        }
        return false;
    }

    static List<Run> driven(byte[] transformed, SuspendPolicy policy, String export, long[]... argLists) {
        return driven(transformed, policy, new Host(), export, argLists);
    }

    static List<Run> driven(byte[] transformed, SuspendPolicy policy, Host host, String export, long[]... argLists) {
        Driven d = new Driven(transformed, policy, host);
        List<Run> runs = new ArrayList<>();
        for (long[] args : argLists) {
            runs.add(d.call(export, args));
        }
        return runs;
    }

    /** Suspends at each point with probability {@code p}, from a seeded generator. */
    static SuspendPolicy random(long seed, double p) {
        SplittableRandom r = new SplittableRandom(seed);
        return () -> r.nextDouble() < p;
    }

    static long[] args(long... a) {
        return a;
    }

    /**
     * Differential check: the module transformed with {@code options} gives the same results and the same
     * host-call log as the original, with every host call suspending (and then every call counted as a
     * suspension), and under seeded random policies. Returns the plain runs.
     */
    static List<Run> assertSameAsPlain(byte[] wasm, AsyncifyOptions options, String export, long[]... argLists) {
        List<Run> expected = plain(wasm, export, argLists);
        byte[] transformed = Asyncify.transform(wasm, options);
        List<Run> always = driven(transformed, SuspendPolicy.always(), export, argLists);
        for (int i = 0; i < argLists.length; i++) {
            Run e = expected.get(i);
            Run a = always.get(i);
            assertThat(a.outcome()).as("%s%s suspending at every host call", export, Arrays.toString(argLists[i]))
                    .isEqualTo(e.outcome());
            assertThat(a.log()).as("host calls of %s%s suspending at every host call", export,
                    Arrays.toString(argLists[i])).isEqualTo(e.log());
            if (!options.suspendAtFunctionEntriesAndLoops()) {
                assertThat(a.suspensions()).as("every host call suspended").isEqualTo(e.log().size());
            }
        }
        for (long seed = 1; seed <= 3; seed++) {
            List<Run> rnd = driven(transformed, random(seed, 0.5), export, argLists);
            for (int i = 0; i < argLists.length; i++) {
                assertThat(rnd.get(i).outcome()).as("%s%s, random policy seed %d", export,
                        Arrays.toString(argLists[i]), seed).isEqualTo(expected.get(i).outcome());
                assertThat(rnd.get(i).log()).as("host calls, random policy seed %d", seed)
                        .isEqualTo(expected.get(i).log());
            }
        }
        return expected;
    }

    static List<Run> assertSameAsPlain(byte[] wasm, String export, long[]... argLists) {
        List<Run> expected = assertSameAsPlain(wasm, driverOptions().build(), export, argLists);
        int data = abiDataAddress(wasm);
        if (data >= 0) {
            // Binaryen's configuration too: data in the module's memory, driven through the ABI exports.
            byte[] transformed = Asyncify.transform(wasm, AsyncifyOptions.defaults());
            AbiDriver d = new AbiDriver(data, data + ABI_STACK, SuspendPolicy.always()).instantiate(transformed);
            for (int i = 0; i < argLists.length; i++) {
                Run r = d.call(export, argLists[i]);
                assertThat(r.outcome()).as("%s%s through the Binaryen ABI", export, Arrays.toString(argLists[i]))
                        .isEqualTo(expected.get(i).outcome());
                assertThat(r.log()).as("host calls through the Binaryen ABI").isEqualTo(expected.get(i).log());
                assertThat(r.suspensions()).isEqualTo(expected.get(i).log().size());
            }
        }
        return expected;
    }

    private static final int ABI_STACK = 48 * 1024;

    /**
     * Where {@link AbiDriver} may keep the data in memory 0 (its last 48 KiB), or -1 when the module does
     * not suit it: no memory 0 of its own, other imports than functions, v128 values (which the module
     * memory configuration saves with SIMD instructions Endive 1.0.x's interpreter lacks), or a start function.
     */
    private static int abiDataAddress(byte[] wasm) {
        ModuleModel m = WasmCodec.decode(wasm);
        if (m.memories().isEmpty() || m.imports().stream().anyMatch(i -> i.kind() != io.asyncify4j.wasm.model.ExternalKind.FUNCTION)
                || m.startFunction() >= 0 || m.memoryType(0).limits().min() < 1) {
            return -1;
        }
        boolean v128 = m.types().stream().anyMatch(t -> t.composite() instanceof io.asyncify4j.wasm.model.FuncType f
                && (f.params().contains(io.asyncify4j.wasm.model.ValType.V128)
                || f.results().contains(io.asyncify4j.wasm.model.ValType.V128)))
                || m.functions().stream().anyMatch(f -> f.locals().contains(io.asyncify4j.wasm.model.ValType.V128));
        return v128 ? -1 : (int) (m.memoryType(0).limits().min() * 65536 - ABI_STACK - 8);
    }

    /** As {@link #assertSameAsPlain}, then again with a suspension point at every function entry and loop. */
    static List<Run> assertSameAsPlainWithChaos(byte[] wasm, String export, long[]... argLists) {
        List<Run> plain = assertSameAsPlain(wasm, export, argLists);
        assertSameAsPlain(wasm, driverOptions().suspendAtFunctionEntriesAndLoops(true).build(), export, argLists);
        return plain;
    }
}
