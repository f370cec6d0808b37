package io.asyncify4j.benchmarks.host;

import run.endive.wasm.WasmModule;
import run.endive.wasm.types.AnnotatedInstruction;
import run.endive.wasm.types.ExternalType;
import run.endive.wasm.types.Import;
import run.endive.wasm.types.NameCustomSection;
import run.endive.wasm.types.OpCode;
import io.asyncify4j.asyncify.AsyncifyAbi;
import io.asyncify4j.engine.SuspendPolicy;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static io.asyncify4j.benchmarks.WasmSizes.codeSectionSize;

/**
 * Where the instructions of a metered run go: for each workload, the interpreted instructions of the
 * plain and the metered module (not preempted) and their sizes, the functions whose counts grew most,
 * and the fuel sites (every {@code global.get} of the fuel global: checks, bare charges, bulk charges)
 * with how often each ran. Runs in seconds, deterministic:
 * <pre>
 * java -cp cli/target/asyncify4j-cli.jar io.asyncify4j.benchmarks.host.InstructionProfile \
 *     workloads/fannkuch.wasm [more.wasm ...] [--dump FUNCTION_NAME] [--top N]
 * </pre>
 * {@code --dump} lists a function's instructions with their run counts, plain then metered.
 */
public final class InstructionProfile {
    private InstructionProfile() {}

    public static void main(String[] args) throws Exception {
        List<Path> workloads = new ArrayList<>();
        String dump = null;
        int top = 12;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--dump": dump = args[++i]; break;
                case "--top": top = Integer.parseInt(args[++i]); break;
                default: workloads.add(Path.of(args[i])); break;
            }
        }
        for (Path w : workloads) {
            profile(w, dump, top, System.out);
        }
    }

    /** Run counts per instruction address of one module. */
    private record Profile(WasmModule module, long total, long fuel, long[] byAddress) {
        static Profile of(byte[] wasm, boolean metered) {
            long[] counts = new long[wasm.length + 1];
            InstructionCounts.Run run = InstructionCounts.run(wasm, metered, Long.MAX_VALUE / 2, SuspendPolicy.never(),
                    (instruction, stack) -> counts[instruction.address()]++);
            return new Profile(io.asyncify4j.engine.Engines.parse(wasm), run.instructions(), run.fuelUsed(), counts);
        }

        int importedFunctions() {
            return module.importSection().count(ExternalType.FUNCTION);
        }

        String name(int defined) {
            NameCustomSection names = module.nameSection();
            String n = names == null ? null : names.nameOfFunction(importedFunctions() + defined);
            return n == null ? "#" + defined : n;
        }

        long count(int defined) {
            long n = 0;
            for (AnnotatedInstruction in : module.codeSection().getFunctionBody(defined).instructions()) {
                n += byAddress[in.address()];
            }
            return n;
        }

        /** Adds {@code sign} times each opcode's run count to {@code into}. */
        void countOpcodes(Map<OpCode, Long> into, int sign) {
            for (int f = 0; f < module.codeSection().functionBodyCount(); f++) {
                for (AnnotatedInstruction in : module.codeSection().getFunctionBody(f).instructions()) {
                    if (byAddress[in.address()] != 0) {
                        into.merge(in.opcode(), sign * byAddress[in.address()], Long::sum);
                    }
                }
            }
        }

        Map<String, Long> byFunction() {
            Map<String, Long> out = new LinkedHashMap<>();
            for (int f = 0; f < module.codeSection().functionBodyCount(); f++) {
                out.merge(name(f), count(f), Long::sum);
            }
            return out;
        }

        int defined(String name) {
            for (int f = 0; f < module.codeSection().functionBodyCount(); f++) {
                if (name(f).equals(name)) {
                    return f;
                }
            }
            return -1;
        }

        void dump(String name, PrintStream out) {
            int f = defined(name);
            if (f < 0) {
                out.println("  (no function " + name + ")");
                return;
            }
            for (AnnotatedInstruction in : module.codeSection().getFunctionBody(f).instructions()) {
                out.printf(Locale.ROOT, "  %10d  %s%s %s%n", byAddress[in.address()], "  ".repeat(Math.max(0, in.depth())),
                        in.opcode(), operands(in));
            }
        }
    }

    private static String operands(AnnotatedInstruction in) {
        StringBuilder b = new StringBuilder();
        for (long o : in.operands()) {
            b.append(' ').append(o);
        }
        return b.toString();
    }

    private static void profile(Path workload, String dump, int top, PrintStream out) throws Exception {
        byte[] wasm = Files.readAllBytes(workload);
        byte[] meteredWasm = InstructionCounts.metered(wasm);
        Profile plain = Profile.of(wasm, false);
        Profile metered = Profile.of(meteredWasm, true);
        long plainCode = codeSectionSize(wasm);
        long meteredCode = codeSectionSize(meteredWasm);
        out.printf(Locale.ROOT, "%s: instructions plain %,d, metered %,d (%.4fx); bytes plain %,d, metered %,d (%.3fx);"
                + " code section plain %,d, metered %,d (%.3fx); fuel %,d units (%.2f per plain instruction)%n",
                workload.getFileName(), plain.total, metered.total, (double) metered.total / plain.total, wasm.length,
                meteredWasm.length, (double) meteredWasm.length / wasm.length, plainCode, meteredCode,
                (double) meteredCode / plainCode, metered.fuel, (double) metered.fuel / plain.total);
        Map<String, Long> before = plain.byFunction();
        Map<String, Long> after = metered.byFunction();
        List<String> names = new ArrayList<>(after.keySet());
        names.sort(Comparator.comparingLong((String n) -> after.get(n) - before.getOrDefault(n, 0L)).reversed());
        out.println("  functions by instructions added:");
        for (String n : names.subList(0, Math.min(top, names.size()))) {
            long a = after.get(n);
            long b = before.getOrDefault(n, 0L);
            out.printf(Locale.ROOT, "    %-28s plain %,13d metered %,13d  +%,d%n", n, b, a, a - b);
        }
        Map<OpCode, Long> opcodes = new java.util.EnumMap<>(OpCode.class);
        plain.countOpcodes(opcodes, -1);
        metered.countOpcodes(opcodes, 1);
        out.println("  instructions added by opcode:");
        opcodes.entrySet().stream().filter(e -> e.getValue() != 0)
                .sorted(Map.Entry.<OpCode, Long>comparingByValue().reversed()).limit(top)
                .forEach(e -> out.printf(Locale.ROOT, "    %-16s %+,13d%n", e.getKey(), e.getValue()));
        int fuel = fuelGlobal(metered.module);
        List<long[]> sites = new ArrayList<>(); // {count, address, defined function, cost}
        for (int f = 0; f < metered.module.codeSection().functionBodyCount(); f++) {
            List<AnnotatedInstruction> body = metered.module.codeSection().getFunctionBody(f).instructions();
            for (int i = 0; i + 1 < body.size(); i++) {
                AnnotatedInstruction in = body.get(i);
                if (in.opcode() == OpCode.GLOBAL_GET && in.operand(0) == fuel && metered.byAddress[in.address()] > 0) {
                    AnnotatedInstruction next = body.get(i + 1);
                    long cost = next.opcode() == OpCode.I64_CONST ? next.operand(0) : -1;
                    sites.add(new long[] {metered.byAddress[in.address()], in.address(), f, cost});
                }
            }
        }
        sites.sort(Comparator.comparingLong((long[] s) -> s[0]).reversed());
        long runs = sites.stream().mapToLong(s -> s[0]).sum();
        out.printf(Locale.ROOT, "  fuel sites run %,d times (%d sites); most run:%n", runs, sites.size());
        for (long[] s : sites.subList(0, Math.min(top, sites.size()))) {
            out.printf(Locale.ROOT, "    %,12d x cost %6d  at %6d in %s%n", s[0], s[3], s[1], metered.name((int) s[2]));
        }
        if (dump != null) {
            out.println("  plain " + dump + ":");
            plain.dump(dump, out);
            out.println("  metered " + dump + ":");
            metered.dump(dump, out);
        }
    }

    /** Index of the imported fuel global. */
    private static int fuelGlobal(WasmModule module) {
        int globals = 0;
        for (int i = 0; i < module.importSection().importCount(); i++) {
            Import imp = module.importSection().getImport(i);
            if (imp.importType() == ExternalType.GLOBAL) {
                if (imp.module().equals(AsyncifyAbi.SUSPEND_MODULE) && imp.name().equals(AsyncifyAbi.FUEL_IMPORT)) {
                    return globals;
                }
                globals++;
            }
        }
        return -1;
    }
}
