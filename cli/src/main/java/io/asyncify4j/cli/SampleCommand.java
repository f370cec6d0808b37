package io.asyncify4j.cli;

import io.asyncify4j.samples.Sample;
import io.asyncify4j.samples.Samples;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "sample",
        mixinStandardHelpOptions = true,
        description = {"Runs one of the bundled samples (--list shows them).", ""},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:the sample ran", "1:the sample failed", "2:unknown sample or usage error"})
final class SampleCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", description = "The sample to run.")
    String name;

    @Option(names = "--list", description = "List the samples.")
    boolean list;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Logging.configure(false);
        PrintWriter out = spec.commandLine().getOut();
        if (list || name == null) {
            for (Sample s : Samples.all()) {
                out.printf("%-10s %s%n", s.name(), s.description());
            }
            out.flush();
            return list ? Main.OK : Main.BAD_INPUT;
        }
        Sample sample = Samples.byName(name).orElseThrow(() -> CliException.badInput("unknown sample '" + name
                + "' (see: asyncify4j sample --list)"));
        PrintStream stream = new PrintStream(new WriterOutputStream(out), true, java.nio.charset.StandardCharsets.UTF_8);
        sample.run(stream);
        stream.flush();
        out.flush();
        return Main.OK;
    }

    /** Lets samples print (from any thread) through the command's writer. */
    private static final class WriterOutputStream extends java.io.OutputStream {
        private final PrintWriter out;
        private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

        WriterOutputStream(PrintWriter out) {
            this.out = out;
        }

        @Override
        public synchronized void write(int b) {
            line.write(b);
            if (b == '\n') {
                flush();
            }
        }

        @Override
        public synchronized void flush() {
            out.print(line.toString(java.nio.charset.StandardCharsets.UTF_8));
            out.flush();
            line.reset();
        }
    }
}
