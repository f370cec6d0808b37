package io.asyncify4j.benchmarks.load;

import io.asyncify4j.benchmarks.LargeModule;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Transform time and peak heap over module size ({@code bench --load}): each module is loaded by
 * {@link LoadRun} in a JVM of its own with a bounded heap ({@code -Xmx}), on three synthetic series:
 * nested loops (depth 10 to 100,000; 100,000 is beyond the default nesting limit), call chains (10 to
 * 100,000 functions), and 1, 10 and 30 MiB of code made of copies of a C workload's functions
 * ({@link LargeModule}), unmetered (asyncify only) and metered (fuel makes about ten times the code, so
 * 1 and 3 MiB there). Nested loops and call chains are metered, as {@code AsyncInstance} loads a guest
 * with a fuel quantum. The figures should grow linearly with the input.
 */
public final class LoadBenchmark {
    private final PrintStream out;
    private final PrintStream progress;
    private final String maxHeap;

    public LoadBenchmark(PrintStream out, PrintStream progress, String maxHeap) {
        this.out = out;
        this.progress = progress;
        this.maxHeap = maxHeap;
    }

    /** One measured module. */
    public record Row(String series, String size, boolean metered, long inputBytes, String outcome, long ms, long peakHeap,
                      long outputBytes) {}

    public List<Row> run(Path workload, int[] depths, int[] chains, int[] megabytes, int[] meteredMegabytes)
            throws Exception {
        List<Row> rows = new ArrayList<>();
        out.printf(Locale.ROOT, "machine: %d processors, Java %s; each module loaded in a JVM of its own with -Xmx%s%n%n",
                Runtime.getRuntime().availableProcessors(), Runtime.version(), maxHeap);
        out.println("| series | size | metered | input bytes | transform ms | peak heap MiB | output bytes | output/input |");
        out.println("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |");
        for (int d : depths) {
            rows.add(measure("nested loops", "depth " + String.format(Locale.ROOT, "%,d", d), HostileModules.nestedLoops(d),
                    "env.sleep", true));
        }
        for (int n : chains) {
            rows.add(measure("call chain", String.format(Locale.ROOT, "%,d functions", n), HostileModules.callChain(n),
                    "env.sleep", true));
        }
        byte[] base = Files.readAllBytes(workload);
        for (boolean metered : new boolean[] {false, true}) {
            for (int mb : metered ? meteredMegabytes : megabytes) {
                LargeModule.Generated g = LargeModule.generate(base, (long) mb << 20);
                rows.add(measure("copies of " + workload.getFileName(),
                        String.format(Locale.ROOT, "%d MiB code, %,d functions", mb, g.functions()), g.wasm(),
                        "wasi_snapshot_preview1.fd_write", metered));
            }
        }
        return rows;
    }

    private Row measure(String series, String size, byte[] wasm, String asyncImport, boolean metered) throws Exception {
        progress.println("load: " + series + ", " + size + (metered ? ", metered" : "") + " (" + wasm.length + " bytes)...");
        progress.flush();
        Path file = Files.createTempFile("asyncify4j-load", ".wasm");
        try {
            Files.write(file, wasm);
            String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            // The default thread stack (-Xss not set): the transform must not depend on a big one.
            List<String> command = List.of(javaBin, "-Xmx" + maxHeap, "-cp", System.getProperty("java.class.path"),
                    LoadRun.class.getName(), file.toString(), asyncImport, Boolean.toString(metered));
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int exit = p.waitFor();
            Row row = null;
            for (String l : stdout.split("\\R")) {
                String[] f = l.split(" ", 3);
                if (l.startsWith("RESULT ")) {
                    String[] r = l.split(" ");
                    row = new Row(series, size, metered, wasm.length, "ok", Long.parseLong(r[1]), Long.parseLong(r[2]),
                            Long.parseLong(r[3]));
                } else if (l.startsWith("REJECTED ")) {
                    row = new Row(series, size, metered, wasm.length, "rejected: " + f[2], Long.parseLong(f[1]), -1, -1);
                } else if (l.startsWith("OOM")) {
                    row = new Row(series, size, metered, wasm.length, "OutOfMemoryError at -Xmx" + maxHeap, -1, -1, -1);
                }
            }
            if (row == null) {
                String tail = stdout.length() > 2000 ? stdout.substring(stdout.length() - 2000) : stdout;
                row = new Row(series, size, metered, wasm.length, "failed (exit " + exit + "): " + tail.strip().replace('\n', ' '),
                        -1, -1, -1);
            }
            print(row);
            return row;
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private void print(Row r) {
        if (!r.outcome().equals("ok")) {
            out.printf(Locale.ROOT, "| %s | %s | %s | %,d | %s | %s | %s | |%n", r.series(), r.size(), r.metered() ? "yes" : "no", r.inputBytes(),
                    r.ms() >= 0 ? String.format(Locale.ROOT, "%,d", r.ms()) : "-", "-", r.outcome());
        } else {
            out.printf(Locale.ROOT, "| %s | %s | %s | %,d | %,d | %,.1f | %,d | %.1f |%n", r.series(), r.size(), r.metered() ? "yes" : "no", r.inputBytes(),
                    r.ms(), r.peakHeap() / 1048576.0, r.outputBytes(), (double) r.outputBytes() / r.inputBytes());
        }
        out.flush();
    }
}
