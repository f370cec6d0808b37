package io.asyncify4j.cli;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code asyncify4j} command line.
 *
 * <p>Exit codes: 0 success; 1 test failures or a runtime failure (trap, link error); 2 usage error or
 * bad input (missing path, unparsable or invalid module, unconvertible script); {@code run} also 3 when
 * the fuel budget ran out, and N when a WASI program exits with N.
 */
@Command(
        name = "asyncify4j",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Pause and resume WebAssembly guests on the JVM: asyncify transform, spec tests, a wasm shell and module info.",
        subcommands = {SpectestCommand.class, ShellCommand.class, InfoCommand.class, TransformCommand.class, RunCommand.class, SampleCommand.class, BenchCommand.class, FuzzCommand.class, CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:test failures or runtime failure", "2:usage error or bad input",
            "3:run: the fuel budget ran out", "N:run: the exit code of a WASI program"})
public final class Main implements Runnable {
    public static final int OK = 0;
    public static final int FAILED = 1;
    public static final int BAD_INPUT = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(System.in, System.out, System.err, args));
    }

    /**
     * Runs the CLI in-process; everything goes to {@code out} and {@code err}, except what a guest of
     * {@code run} writes to its WASI stdout and stderr, which goes to this process's.
     */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        return execute(commandLine(out, err), out, err, args);
    }

    /** Runs the CLI in-process with these streams, a {@code run} guest's WASI stdio included. */
    public static int run(InputStream in, OutputStream out, OutputStream err, String... args) {
        PrintWriter o = new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), true);
        PrintWriter e = new PrintWriter(new OutputStreamWriter(err, StandardCharsets.UTF_8), true);
        CommandLine cli = commandLine(o, e);
        RunCommand run = cli.getSubcommands().get("run").getCommand();
        run.stdin = in;
        run.stdout = out;
        run.stderr = err;
        return execute(cli, o, e, args);
    }

    private static int execute(CommandLine cli, PrintWriter out, PrintWriter err, String... args) {
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
        cli.setParameterExceptionHandler(Main::handleParameterException);
        // Everything after run's FILE is the guest's: its options too, without a "--".
        cli.getSubcommands().get("run").setStopAtPositional(true);
        return cli;
    }

    /**
     * A usage error (unknown option, bad value...), of any command: its one-line reason and the command's
     * abbreviated synopsis, not the whole help.
     */
    private static int handleParameterException(CommandLine.ParameterException e, String[] args) {
        CommandLine cli = e.getCommandLine();
        PrintWriter err = cli.getErr();
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        err.println(cli.getCommandSpec().qualifiedName() + ": " + message.lines().findFirst().orElse("").strip());
        err.println("Usage: " + cli.getHelp().abbreviatedSynopsis().strip() + (cli.getCommandSpec().mixinStandardHelpOptions() ? "   (--help for more)" : ""));
        err.flush();
        return cli.getCommandSpec().exitCodeOnInvalidInput();
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
