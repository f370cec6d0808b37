package io.asyncify4j.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.io.OutputStreamWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code asyncify4j} command line.
 *
 * <p>Exit codes: 0 success; 1 test failures or a runtime failure (trap, link error); 2 usage error or
 * bad input (missing path, unparsable or invalid module, unconvertible script).
 */
@Command(
        name = "asyncify4j",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Pause and resume WebAssembly guests on the JVM: asyncify transform, spec tests, a wasm shell and module info.",
        subcommands = {SpectestCommand.class, ShellCommand.class, InfoCommand.class, TransformCommand.class, RunCommand.class, SampleCommand.class, BenchCommand.class, FuzzCommand.class, CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:test failures or runtime failure", "2:usage error or bad input"})
public final class Main implements Runnable {
    public static final int OK = 0;
    public static final int FAILED = 1;
    public static final int BAD_INPUT = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
        PrintWriter err = new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
        System.exit(run(out, err, args));
    }

    /** Runs the CLI in-process; everything goes to {@code out} and {@code err}. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = commandLine(out, err);
        int code = cli.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler(Main::handleException);
        return cli;
    }

    /** Turns exceptions into a one-line message (a stack trace only with --verbose) and an exit code. */
    private static int handleException(Exception e, CommandLine cli, CommandLine.ParseResult parseResult) {
        PrintWriter err = cli.getErr();
        boolean verbose = parseResult.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--verbose"))
                || parseResult.hasMatchedOption("--verbose");
        int code = e instanceof CliException ? ((CliException) e).exitCode() : FAILED;
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (!(e instanceof CliException)) {
            message = e.getClass().getSimpleName() + ": " + message;
        }
        err.println("asyncify4j " + cli.getCommandName() + ": " + message.lines().findFirst().orElse(""));
        if (verbose) {
            e.printStackTrace(err);
        }
        err.flush();
        return code;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: see --help");
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"asyncify4j " + (v == null ? "(development build)" : v) + ", "
                    + io.asyncify4j.engine.Engines.describe()};
        }
    }
}
