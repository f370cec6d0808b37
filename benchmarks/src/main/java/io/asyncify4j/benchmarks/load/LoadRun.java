package io.asyncify4j.benchmarks.load;

import io.asyncify4j.asyncify.Asyncify;
import io.asyncify4j.asyncify.AsyncifyOptions;
import io.asyncify4j.asyncify.LoadLimitExceededException;
import io.asyncify4j.wasm.codec.WasmCodec;
import io.asyncify4j.wasm.model.ModuleModel;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Loads one module in a JVM of its own (see {@link LoadBenchmark}): decode, asyncify with the options
 * {@code AsyncInstance} uses for a guest (metered or not) with one async import ({@code env.sleep}, or the WASI
 * write for the workload copies), encode. Prints {@code RESULT <ms> <peak heap bytes> <output bytes>},
 * {@code REJECTED <limit> <message>} for a module beyond a load limit, or {@code OOM}.
 *
 * <p>Peak heap: the heap pools' peak usage summed (an upper bound: the pools peak at different times),
 * reset after reading the input and a full GC, so it counts what loading the module allocated (with its
 * garbage, up to the collections the JVM chose to make) plus the input bytes.
 *
 * <p>Usage: {@code LoadRun <module.wasm> <async import> <metered: true|false>}.
 */
public final class LoadRun {
    private LoadRun() {}

    public static void main(String[] args) throws Exception {
        byte[] wasm = Files.readAllBytes(Path.of(args[0]));
        AsyncifyOptions options = AsyncifyOptions.builder()
                .unwindingImports(List.of(args[1]))
                .dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY)
                .secondaryMemoryPages(1, 16)
                .importState(true)
                .deferStart(true)
                .v128ViaHost(true)
                .fuel(Boolean.parseBoolean(args[2]))
                .build();
        System.gc();
        List<MemoryPoolMXBean> heap = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP).toList();
        heap.forEach(MemoryPoolMXBean::resetPeakUsage);
        long start = System.nanoTime();
        try {
            ModuleModel m = WasmCodec.decode(wasm, options.loadLimits());
            Asyncify.transform(m, options);
            byte[] out = WasmCodec.encode(m);
            long ns = System.nanoTime() - start;
            long peak = heap.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum();
            System.out.println("RESULT " + ns / 1_000_000 + " " + peak + " " + out.length);
        } catch (LoadLimitExceededException e) {
            System.out.println("REJECTED " + (System.nanoTime() - start) / 1_000_000 + " " + e.getMessage());
        } catch (OutOfMemoryError e) {
            System.out.println("OOM");
        }
    }
}
