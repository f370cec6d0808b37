package io.asyncify4j.spectest;

import run.endive.runtime.GlobalInstance;
import run.endive.runtime.Instance;
import run.endive.runtime.Store;
import run.endive.wasm.WasmModule;
import run.endive.wasm.types.ValType;
import io.asyncify4j.engine.EngineErrors;
import io.asyncify4j.engine.References;
import io.asyncify4j.spectest.host.PrintSink;
import io.asyncify4j.spectest.host.SpectestHost;
import io.asyncify4j.spectest.report.CommandFailure;
import io.asyncify4j.spectest.report.ScriptResult;
import io.asyncify4j.spectest.value.WasmValues;
import io.asyncify4j.spectest.wast.WastAction;
import io.asyncify4j.spectest.wast.WastCommand;
import io.asyncify4j.spectest.wast.WastScript;
import io.asyncify4j.spectest.wast.WastValue;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Executes the commands of one converted script in one mode, on the calling thread.
 *
 * <p>Callers should run it on a thread with a large stack: Endive's interpreter recurses on the Java
 * stack, and {@code assert_exhaustion} expects Endive's "call stack exhausted" (which it raises on
 * {@link StackOverflowError}) — see {@link SpecTestRunner}.
 *
 * <p>Semantics of each command:
 * <ul>
 *   <li>{@code module}: the module (transformed by the mode) must instantiate; it becomes the current
 *       module and, with a {@code $name}, a named one. When it fails, commands acting on it are
 *       skipped (its own failure is reported once).</li>
 *   <li>{@code register}: exports of the named or current module become importable under {@code as}.</li>
 *   <li>{@code action}: must complete without trapping.</li>
 *   <li>{@code assert_return}: results must match exactly (bit patterns for floats), NaN patterns
 *       {@code nan:canonical}/{@code nan:arithmetic} per value and per v128 lane, references by
 *       nullness/identity, {@code either} by any alternative.</li>
 *   <li>{@code assert_trap} / {@code assert_exhaustion}: an engine trap whose message contains the
 *       expected text (for {@code assert_trap} of a module: its instantiation must trap).</li>
 *   <li>{@code assert_exception}: an uncaught wasm exception ({@link EngineErrors#isUncaughtWasmException}).</li>
 *   <li>{@code assert_malformed} / {@code assert_invalid}: the mode may reject the original bytes
 *       itself ({@link ModePipeline#rejects}); otherwise the engine must reject the original bytes as
 *       malformed / invalid ({@link EngineErrors}). Text modules wabt did not convert to
 *       binary are skipped.</li>
 *   <li>{@code assert_unlinkable} / {@code assert_uninstantiable}: the transformed module must fail
 *       as unlinkable / uninstantiable.</li>
 * </ul>
 * Besides the exception type, the exception message (or a cause's) must contain the script's
 * expected text — for traps, exhaustion and, unless {@link #checkModuleMessages} is turned off,
 * module assertions too (Endive words its errors like the reference interpreter). A rejection by
 * the mode's own decoder is accepted whatever its message.
 */
public final class ScriptRunner {
    private static final Logger LOG = LoggerFactory.getLogger(ScriptRunner.class);

    private final WastScript script;
    private final String modeId;
    private final ModePipeline pipeline;
    private final ExpectedFailures expectedFailures;
    private final long timeoutNanos;
    private boolean checkModuleMessages = true;

    private final Store store = new Store();
    private final Map<String, Loaded> named = new HashMap<>();
    private Loaded current;

    private volatile Thread thread;
    private volatile long deadline;
    private volatile boolean timedOut;

    /** A module command's outcome: an instance, or why there is none. */
    private record Loaded(Instance instance, int line, String error) {}

    private enum Status { PASS, FAIL, SKIP }

    private record Outcome(Status status, String expected, String actual, String reason) {
        static final Outcome PASS = new Outcome(Status.PASS, null, null, null);

        static Outcome fail(String expected, String actual) {
            return new Outcome(Status.FAIL, expected, actual, null);
        }

        static Outcome skip(String reason) {
            return new Outcome(Status.SKIP, null, null, reason);
        }
    }

    /** A failure of the mode's byte transform. */
    private static final class TransformException extends RuntimeException {
        TransformException(Throwable cause) {
            super(cause);
        }
    }

    public ScriptRunner(
            WastScript script,
            String modeId,
            ModePipeline pipeline,
            PrintSink sink,
            ExpectedFailures expectedFailures,
            Duration commandTimeout) {
        this.script = script;
        this.modeId = modeId;
        this.pipeline = pipeline;
        this.expectedFailures = expectedFailures;
        this.timeoutNanos = commandTimeout.toNanos();
        this.store.addImportValues(SpectestHost.importValues(sink));
    }

    /**
     * Whether module assertions ({@code assert_malformed}, {@code assert_invalid},
     * {@code assert_unlinkable}, {@code assert_uninstantiable}) also require the exception message to
     * contain the script's text. On by default.
     */
    public ScriptRunner checkModuleMessages(boolean check) {
        this.checkModuleMessages = check;
        return this;
    }

    /** Runs every command and returns the result. */
    public ScriptResult run() {
        long start = System.nanoTime();
        ScriptResult result = new ScriptResult(script.id(), modeId);
        Set<Integer> linesSeen = new HashSet<>();
        boolean scriptEntryMatched = false;
        thread = Thread.currentThread();
        Watchdog.watch(this);
        try {
            for (WastCommand c : script.commands()) {
                linesSeen.add(c.line());
                Outcome o = executeGuarded(c);
                switch (o.status()) {
                    case PASS:
                        ExpectedFailures.Entry stale = expectedFailures.lineEntry(script.id(), c.line());
                        if (stale != null && stale.outcomeVaries()) {
                            result.fail(new CommandFailure(script.id(), c.line(), c.describe(), "pass or fail", "passed",
                                    stale.reason()));
                            break;
                        }
                        result.pass();
                        if (stale != null) {
                            result.warn(script.id() + ":" + c.line() + ": listed as expected failure (" + stale.source()
                                    + ") but passed in mode " + modeId + "; remove the entry if it passes in every mode");
                        }
                        break;
                    case SKIP:
                        result.skip(c.line(), o.reason());
                        break;
                    case FAIL:
                    default:
                        ExpectedFailures.Entry entry = expectedFailures.lookup(script.id(), c.line());
                        if (entry != null && entry.wholeScript()) {
                            scriptEntryMatched = true;
                        }
                        CommandFailure f = new CommandFailure(
                                script.id(), c.line(), c.describe(), o.expected(), o.actual(),
                                entry == null ? null : entry.reason());
                        if (entry == null) {
                            LOG.debug("FAIL {}", f.format());
                        }
                        result.fail(f);
                        break;
                }
            }
        } finally {
            Watchdog.unwatch(this);
            thread = null;
        }
        ExpectedFailures.Entry scriptEntry = expectedFailures.scriptEntry(script.id());
        if (scriptEntry != null && !scriptEntryMatched) {
            result.warn(script.id() + ": listed as expected failure (" + scriptEntry.source()
                    + ") but nothing failed in mode " + modeId);
        }
        for (ExpectedFailures.Entry e : expectedFailures.lineEntries(script.id())) {
            if (!linesSeen.contains(e.line())) {
                result.warn(e.key() + ": expected-failure entry (" + e.source() + ") matches no command of the script");
            }
        }
        result.setMillis((System.nanoTime() - start) / 1_000_000);
        result.setSuspensions(pipeline.suspensions());
        return result;
    }

    // ------------------------------------------------------------------ timeouts

    void checkDeadline(long now) {
        long d = deadline;
        Thread t = thread;
        if (d != 0 && now - d > 0 && !timedOut && t != null) {
            timedOut = true;
            LOG.warn("{}: command exceeded {}, interrupting", script.id(), timeoutText());
            t.interrupt();
        }
    }

    private String timeoutText() {
        long millis = Duration.ofNanos(timeoutNanos).toMillis();
        return millis % 1000 == 0 ? millis / 1000 + " s" : millis + " ms";
    }

    private <T> T timed(Callable<T> body) throws Exception {
        deadline = System.nanoTime() + timeoutNanos;
        try {
            return body.call();
        } finally {
            deadline = 0;
        }
    }

    private Outcome executeGuarded(WastCommand c) {
        Outcome o;
        try {
            o = execute(c);
        } catch (RuntimeException | Error e) {
            // a harness problem (unreadable module file, bad value in the JSON, ...): report, go on
            LOG.debug("{}:{}: harness error", script.id(), c.line(), e);
            o = Outcome.fail("command to run", "harness error: " + describe(e));
        }
        if (timedOut) {
            timedOut = false;
            Thread.interrupted();
            o = Outcome.fail("completion within " + timeoutText(), "timed out");
        }
        return o;
    }

    // ------------------------------------------------------------------ commands

    private Outcome execute(WastCommand c) {
        switch (c.kind()) {
            case MODULE:
                return module(c);
            case REGISTER:
                return register(c);
            case ACTION:
                return action(c);
            case ASSERT_RETURN:
                return assertReturn(c);
            case ASSERT_TRAP:
                return c.action() == null ? assertModuleTraps(c) : assertTrap(c, "trap");
            case ASSERT_EXHAUSTION:
                return assertTrap(c, "exhaustion");
            case ASSERT_EXCEPTION:
                return assertException(c);
            case ASSERT_MALFORMED:
                return assertRejected(c, EngineErrors::isMalformed, "malformed");
            case ASSERT_INVALID:
                return assertRejected(c, EngineErrors::isInvalid, "invalid");
            case ASSERT_UNLINKABLE:
                return assertLoadFails(c, EngineErrors::isUnlinkable, "unlinkable");
            case ASSERT_UNINSTANTIABLE:
                return assertLoadFails(c, EngineErrors::isUninstantiable, "uninstantiable");
            case UNKNOWN:
            default:
                return Outcome.skip("unsupported command '" + c.rawType() + "'");
        }
    }

    private Outcome module(WastCommand c) {
        Loaded loaded;
        try {
            Instance instance = timed(() -> instantiate(prepare(script.readModule(c.filename()))));
            loaded = new Loaded(instance, c.line(), null);
        } catch (Exception | Error e) {
            loaded = new Loaded(null, c.line(), describeLoadFailure(e));
        }
        current = loaded;
        if (c.name() != null) {
            named.put(c.name(), loaded);
        }
        return loaded.error() == null ? Outcome.PASS : Outcome.fail("module to instantiate", loaded.error());
    }

    private Instance instantiate(byte[] bytes) {
        WasmModule module = pipeline.parse(bytes);
        return pipeline.instantiate(module, store.toImportValues());
    }

    private Outcome register(WastCommand c) {
        Loaded target = c.name() != null ? named.get(c.name()) : current;
        if (target == null) {
            return Outcome.fail("a module to register", c.name() == null ? "no module defined yet" : "no module named " + c.name());
        }
        if (target.error() != null) {
            return Outcome.skip("module of line " + target.line() + " did not load");
        }
        store.register(c.as(), target.instance());
        return Outcome.PASS;
    }

    /** The target instance of an action, or a skip/fail outcome when there is none. */
    private Object target(WastAction a) {
        Loaded target = a.module() != null ? named.get(a.module()) : current;
        if (target == null) {
            return Outcome.fail("a module to act on", a.module() == null ? "no module defined yet" : "no module named " + a.module());
        }
        if (target.error() != null) {
            return Outcome.skip("module of line " + target.line() + " did not load");
        }
        return target.instance();
    }

    private long[] perform(Instance instance, WastAction a) throws Exception {
        if (a.isGet()) {
            GlobalInstance g = instance.exports().global(a.field());
            if (g == null) {
                throw new IllegalStateException("no exported global " + a.field());
            }
            if (ValType.V128.equals(g.getType())) {
                return new long[] {g.getValueLow(), g.getValueHigh()};
            }
            if (References.isObject(g.getType())) {
                return new long[] {References.toHandle(g.getRefValue())};
            }
            return new long[] {g.getValue()};
        }
        long[] args = WasmValues.toSlots(a.args());
        return timed(() -> pipeline.invoke(instance, a.field(), args));
    }

    private Outcome action(WastCommand c) {
        Object t = target(c.action());
        if (t instanceof Outcome) {
            return (Outcome) t;
        }
        try {
            perform((Instance) t, c.action());
            return Outcome.PASS;
        } catch (Exception | Error e) {
            return Outcome.fail("completion", describe(e));
        }
    }

    private Outcome assertReturn(WastCommand c) {
        Object t = target(c.action());
        if (t instanceof Outcome) {
            return (Outcome) t;
        }
        String expected = c.either().isEmpty()
                ? formatValues(c.expected())
                : "one of " + formatValues(c.either());
        long[] results;
        try {
            results = perform((Instance) t, c.action());
        } catch (Exception | Error e) {
            return Outcome.fail(expected, describe(e));
        }
        if (!c.either().isEmpty()) {
            for (WastValue alternative : c.either()) {
                if (WasmValues.mismatch(List.of(alternative), results) == null) {
                    return Outcome.PASS;
                }
            }
            return Outcome.fail(expected, WasmValues.formatSlots(List.of(c.either().get(0)), results));
        }
        String mismatch = WasmValues.mismatch(c.expected(), results);
        if (mismatch == null) {
            return Outcome.PASS;
        }
        return Outcome.fail(expected, WasmValues.formatSlots(c.expected(), results) + " (" + mismatch + ")");
    }

    private Outcome assertTrap(WastCommand c, String what) {
        Object t = target(c.action());
        if (t instanceof Outcome) {
            return (Outcome) t;
        }
        String expected = what + " \"" + c.text() + "\"";
        try {
            long[] results = perform((Instance) t, c.action());
            return Outcome.fail(expected, "returned " + WasmValues.formatSlots(c.expected(), results));
        } catch (Exception | Error e) {
            return checkTrap(expected, c.text(), e, false);
        }
    }

    /**
     * Whether {@code e} is the expected trap. Any exception of the engine's own thrown by a call counts
     * (Endive, like Chicory before it, raises some runtime traps, e.g. "unaligned atomic", as invalid-module exceptions);
     * during instantiation, load errors (malformed, invalid, unlinkable) are not traps.
     */
    private Outcome checkTrap(String expected, String text, Throwable e, boolean instantiation) {
        if (EngineErrors.isInterruption(e) || timedOut) {
            return Outcome.fail(expected, describe(e));
        }
        boolean isTrap = EngineErrors.isEngineException(e)
                && !(instantiation
                        && (EngineErrors.isMalformed(e) || EngineErrors.isInvalid(e) || EngineErrors.isUnlinkable(e)));
        if (!isTrap) {
            return Outcome.fail(expected, describe(e));
        }
        if (text != null && !messageContains(e, text)) {
            return Outcome.fail(expected, "trap " + describe(e));
        }
        return Outcome.PASS;
    }

    private Outcome assertModuleTraps(WastCommand c) {
        String expected = "instantiation trap \"" + c.text() + "\"";
        byte[] bytes;
        try {
            bytes = prepare(script.readModule(c.filename()));
        } catch (TransformException e) {
            return Outcome.fail(expected, describeLoadFailure(e));
        }
        try {
            timed(() -> instantiate(bytes));
            return Outcome.fail(expected, "module instantiated");
        } catch (Exception | Error e) {
            return checkTrap(expected, c.text(), e, true);
        }
    }

    private Outcome assertException(WastCommand c) {
        Object t = target(c.action());
        if (t instanceof Outcome) {
            return (Outcome) t;
        }
        try {
            long[] results = perform((Instance) t, c.action());
            return Outcome.fail("uncaught wasm exception", "returned " + WasmValues.formatSlots(c.expected(), results));
        } catch (Exception | Error e) {
            return EngineErrors.isUncaughtWasmException(e) ? Outcome.PASS : Outcome.fail("uncaught wasm exception", describe(e));
        }
    }

    private Outcome assertRejected(WastCommand c, Predicate<Throwable> type, String what) {
        if (c.isTextModule()) {
            return Outcome.skip("text module " + c.filename() + " (wabt did not convert it to binary)");
        }
        String expected = what + " module \"" + c.text() + "\"";
        byte[] original = script.readModule(c.filename());
        String rejection;
        try {
            rejection = pipeline.rejects(original);
        } catch (RuntimeException e) {
            rejection = describe(e);
        }
        if (rejection != null) {
            LOG.trace("{}:{}: {}", script.id(), c.line(), rejection);
            return Outcome.PASS;
        }
        try {
            timed(() -> instantiate(original));
            return Outcome.fail(expected, "module loaded");
        } catch (Exception | Error e) {
            return checkRejection(expected, type, c.text(), e);
        }
    }

    private Outcome assertLoadFails(WastCommand c, Predicate<Throwable> type, String what) {
        String expected = what + " module \"" + c.text() + "\"";
        byte[] bytes;
        try {
            bytes = prepare(script.readModule(c.filename()));
        } catch (TransformException e) {
            return Outcome.fail(expected, describeLoadFailure(e));
        }
        try {
            timed(() -> instantiate(bytes));
            return Outcome.fail(expected, "module instantiated");
        } catch (Exception | Error e) {
            return checkRejection(expected, type, c.text(), e);
        }
    }

    private Outcome checkRejection(String expected, Predicate<Throwable> type, String text, Throwable e) {
        if (!type.test(e)) {
            return Outcome.fail(expected, describe(e));
        }
        if (checkModuleMessages && text != null && !messageContains(e, text)) {
            return Outcome.fail(expected, describe(e) + " (message differs)");
        }
        return Outcome.PASS;
    }

    private byte[] prepare(byte[] bytes) {
        try {
            return pipeline.prepare(bytes);
        } catch (RuntimeException e) {
            throw new TransformException(e);
        }
    }

    // ------------------------------------------------------------------ formatting

    private String describeLoadFailure(Throwable e) {
        if (e instanceof TransformException) {
            return modeId + " transform failed: " + describe(e.getCause());
        }
        return describe(e);
    }

    private static boolean messageContains(Throwable e, String text) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().contains(text)) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    static String describe(Throwable e) {
        String name = e.getClass().getSimpleName();
        String message = e.getMessage();
        if ((message == null || message.isBlank()) && e.getCause() != null) {
            return name + " (" + describe(e.getCause()) + ")";
        }
        return message == null ? name : name + ": " + message;
    }

    private static String formatValues(List<WastValue> values) {
        return values.stream().map(WasmValues::format).collect(Collectors.joining(", ", "[", "]"));
    }

    /** The script being run. */
    public WastScript script() {
        return script;
    }
}
