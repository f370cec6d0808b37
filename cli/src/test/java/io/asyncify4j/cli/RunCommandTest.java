package io.asyncify4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code run} as a WASI runner: preopened directories, environment, guest arguments, reactors, async
 * sleeps, modules asyncified ahead of time, {@code --stats} and usage errors. The C fixtures are built by
 * {@code src/test/resources/run/build.sh} (committed; the tests need no toolchain).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RunCommandTest {

    private record Result(int code, String out, String err) {
        List<String> outLines() {
            return out.lines().toList();
        }
    }

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new ByteArrayInputStream(new byte[0]), out, err, args);
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static String fixture(String name) {
        try {
            return Path.of(RunCommandTest.class.getResource("/run/" + name).toURI()).toString();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String resource(String name) {
        try {
            return Path.of(RunCommandTest.class.getResource("/" + name).toURI()).toString();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long suspensions(String err) {
        Matcher m = Pattern.compile("stats: ([0-9,]+) suspensions, ([0-9,]+) preemptions, fuel used ([^,]+(?:,[0-9]{3})*)"
                + ", wall time [0-9.]+ s").matcher(err);
        assertThat(m.find()).as("stats line in: " + err).isTrue();
        return Long.parseLong(m.group(1).replace(",", ""));
    }

    private static List<String> envLines(Result r) {
        return r.outLines().stream().filter(l -> l.startsWith("env ")).toList();
    }

    @Test
    void argumentsAfterTheModuleGoToTheGuestDashesIncluded() {
        Result r = run("run", fixture("demo.wasm"), "-x", "--long", "foo", "--", "--help");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.outLines()).startsWith("argc=6", "argv[0]=demo.wasm", "argv[1]=-x", "argv[2]=--long",
                "argv[3]=foo", "argv[4]=--", "argv[5]=--help");
    }

    @Test
    void theEnvironmentIsNotInheritedOnlyGivenOrPassedThrough() {
        Result none = run("run", fixture("demo.wasm"));
        assertThat(none.code()).as(none.err()).isZero();
        assertThat(envLines(none)).isEmpty();

        Map.Entry<String, String> host = System.getenv().entrySet().stream()
                .filter(e -> !e.getKey().contains("=") && !e.getValue().contains("\n")).findFirst().orElse(null);
        assumeTrue(host != null, "this process has an environment variable");
        Result given = run("run", "--env", "GREETING=hello world", "--env", "EMPTY=", "--env", host.getKey(),
                "--env", "ASYNCIFY4J_SURELY_UNSET_VARIABLE", fixture("demo.wasm"));
        assertThat(given.code()).as(given.err()).isZero();
        assertThat(envLines(given)).containsExactlyInAnyOrder("env GREETING=hello world", "env EMPTY=",
                "env " + host.getKey() + "=" + host.getValue());
    }

    @Test
    void inheritEnvPassesTheWholeEnvironmentWithOverrides() {
        Result r = run("run", "--inherit-env", "--env", "GREETING=hi", fixture("demo.wasm"));
        assertThat(r.code()).as(r.err()).isZero();
        Map<String, String> host = System.getenv();
        assertThat(envLines(r)).hasSize(host.size() + (host.containsKey("GREETING") ? 0 : 1)).contains("env GREETING=hi");
        host.forEach((k, v) -> {
            if (!k.equals("GREETING")) {
                assertThat(r.out()).contains("env " + k + "=" + v);
            }
        });
    }

    @Test
    void dirPreopensAHostDirectoryUnderAGuestName(@TempDir Path tmp) throws Exception {
        Files.writeString(tmp.resolve("greeting.txt"), "hello from the host\nsecond line\n");
        Result mapped = run("run", "--dir", tmp + "::data", fixture("demo.wasm"), "--cat", "data/greeting.txt");
        assertThat(mapped.code()).as(mapped.err()).isZero();
        assertThat(mapped.outLines()).contains("file: hello from the host", "file: second line");

        Result asWritten = run("run", "--dir", tmp.toString(), fixture("demo.wasm"), "--cat", tmp + "/greeting.txt");
        assertThat(asWritten.code()).as(asWritten.err()).isZero();
        assertThat(asWritten.outLines()).contains("file: hello from the host");
    }

    @Test
    void aPreopenedDirectoryCannotBeLeftThroughDotDot(@TempDir Path tmp) throws Exception {
        Path inside = Files.createDirectories(tmp.resolve("inside"));
        Files.writeString(tmp.resolve("outside.txt"), "secret\n");
        Result r = run("run", "--dir", inside + "::data", fixture("demo.wasm"), "--cat", "data/../outside.txt");
        assertThat(r.code()).isEqualTo(4); // demo.c: fopen failed
        assertThat(r.out()).doesNotContain("secret");
    }

    @Test
    void withoutDirTheGuestSeesNoFiles(@TempDir Path tmp) throws Exception {
        Files.writeString(tmp.resolve("greeting.txt"), "secret\n");
        Result r = run("run", fixture("demo.wasm"), "--cat", tmp + "/greeting.txt");
        assertThat(r.code()).isEqualTo(4); // demo.c: fopen failed
        assertThat(r.out()).doesNotContain("secret");
        assertThat(r.err()).contains("greeting.txt");
    }

    @Test
    void aWasiExitCodeIsTheExitCode() {
        Result r = run("run", fixture("demo.wasm"), "--exit", "7");
        assertThat(r.code()).isEqualTo(7);
        assertThat(r.err()).isEmpty();
    }

    @Test
    void aReactorIsInitializedBeforeInvoke() {
        Result r = run("run", "--invoke", "add_base", fixture("reactor.wasm"), "2");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.outLines()).containsExactly("42 : i32"); // 2 without _initialize
        Result hello = run("run", "--invoke", "hello", fixture("reactor.wasm"));
        assertThat(hello.code()).as(hello.err()).isZero();
        assertThat(hello.outLines()).containsExactly("hello from a reactor, base 40");
        Result plain = run("run", fixture("reactor.wasm"));
        assertThat(plain.code()).as(plain.err()).isZero();
        assertThat(plain.out()).isEmpty();
    }

    @Test
    void invokeStillTakesItsArgumentsAfterTheModule() {
        Result r = run("run", "--invoke", "add", resource("hello.wat"), "40", "2");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.outLines()).containsExactly("1 : i32", "42 : i32");
    }

    @Test
    void anEnvSleepLoopSuspendsAtEverySleep() {
        long t0 = System.nanoTime();
        Result r = run("run", "--async-sleep", "env.sleep", "--stats", fixture("sleep_loop.wasm"), "4", "100");
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.outLines()).containsExactly("tick 0", "tick 1", "tick 2", "tick 3", "done");
        assertThat(suspensions(r.err())).isEqualTo(4);
        assertThat(r.err()).containsPattern("0 preemptions, fuel used [1-9][0-9,]*, wall time");
        assertThat(ms).as("slept 4 x 100 ms").isGreaterThanOrEqualTo(400);
    }

    @Test
    void withoutAnAsyncSleepTheImportIsMissingAndTheMessageSaysWhatRunProvides() {
        Result r = run("run", fixture("sleep_loop.wasm"));
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().lines()).hasSize(1);
        assertThat(r.err()).contains("env.sleep", "--async-sleep");
    }

    @Test
    void aModuleAsyncifiedByBinaryenIsDrivenWithMallocForItsData() {
        Result r = run("run", "--async-sleep", "env.sleep", "--stats", fixture("sleep_loop.binaryen.wasm"), "3", "100");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.outLines()).containsExactly("tick 0", "tick 1", "tick 2", "done");
        assertThat(suspensions(r.err())).isEqualTo(3);
        assertThat(r.err()).containsPattern("fuel used [1-9][0-9,]*, wall time"); // metered, though not transformed
    }

    @Test
    void aModuleAsyncifiedByBinaryenIsDrivenInAFixedRegionTakingI64Milliseconds() {
        Result r = run("run", "--async-sleep", "env.sleep", "--asyncify-data", "1024:4096", "--stats",
                "--invoke", "main", fixture("sleep_fixed.binaryen.wasm"), "3");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.outLines()).containsExactly("0 : i32", "1 : i32", "2 : i32", "3 : i32");
        assertThat(suspensions(r.err())).isEqualTo(3);
    }

    @Test
    void aModuleAsyncifiedByBinaryenNeedsADataRegion() {
        Result r = run("run", "--async-sleep", "env.sleep", "--invoke", "main", fixture("sleep_fixed.binaryen.wasm"), "3");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().lines()).hasSize(1);
        assertThat(r.err()).contains("asyncified already", "--asyncify-data ADDR:SIZE");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void ourTransformsOutputIsDrivenNotTransformedTwice(@TempDir Path tmp) {
        String ours = tmp.resolve("ours.wasm").toString();
        Result t = run("transform", "--imports", "env.sleep", "-o", ours, fixture("sleep_fixed.wat"));
        assertThat(t.code()).as(t.err()).isZero();
        Result r = run("run", "--async-sleep", "env.sleep", "--asyncify-data", "1024:4096", "--stats",
                "--invoke", "main", ours, "3");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.outLines()).containsExactly("0 : i32", "1 : i32", "2 : i32", "3 : i32");
        assertThat(suspensions(r.err())).isEqualTo(3);
        assertThat(r.err()).containsPattern("fuel used [1-9][0-9,]*, wall time"); // driven as it is, metered

        String secondary = tmp.resolve("secondary.wasm").toString();
        assertThat(run("transform", "--imports", "env.sleep", "--secondary-memory", "-o", secondary,
                fixture("sleep_fixed.wat")).code()).isZero();
        Result refused = run("run", "--async-sleep", "env.sleep", "--invoke", "main", secondary, "3");
        assertThat(refused.code()).isEqualTo(2);
        assertThat(refused.err().lines()).hasSize(1);
        assertThat(refused.err()).contains("secondary memory");
    }

    /** Asyncified ahead of time, not transformed again, yet metered: the budget stops it (exit 3). */
    @Test
    void fuelStopsAModuleAsyncifiedByBinaryen() {
        Result r = run("run", "--fuel", "200000", "--stats", "--async-sleep", "env.sleep",
                fixture("sleep_loop.binaryen.wasm"), "1000000", "1");
        assertThat(r.code()).as(r.err()).isEqualTo(3);
        assertThat(r.out()).startsWith("tick 0");
        assertThat(r.err()).containsPattern("fuel used 2[0-9]{2},[0-9]{3}, wall time"); // the budget, plus at most the charge that crossed it
    }

    @Test
    void fuelRunsOutWithExitCode3AndStatsStillPrinted() {
        // a loop of printf and 1 ms sleeps that would take 20 minutes
        Result r = run("run", "--fuel", "3000000", "--stats", "--async-sleep", "env.sleep",
                fixture("sleep_loop.wasm"), "1000000", "1");
        assertThat(r.code()).as(r.err()).isEqualTo(3);
        assertThat(r.out()).startsWith("tick 0");
        assertThat(r.err()).containsPattern("fuel used 3,[0-9]{3},[0-9]{3}, wall time");
        assertThat(suspensions(r.err())).isPositive();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            unknown export        | --invoke nope HELLO                   | exports no function 'nope'
            too few arguments     | --invoke add HELLO 1                  | 'add' takes 2 argument(s), got 1
            too many arguments    | --invoke add HELLO 1 2 3              | 'add' takes 2 argument(s), got 3
            non-numeric argument  | --invoke add HELLO 1 x                | argument 2 'x' is not a valid i32
            zero fuel             | --fuel 0 HELLO                        | --fuel takes a positive number
            negative fuel         | --fuel -5 HELLO                       | --fuel takes a positive number
            non-numeric fuel      | --fuel lots HELLO                     | Invalid value for option '--fuel'
            zero slice            | --slice 0 HELLO                       | --slice takes a positive number
            negative slice        | --slice -1 HELLO                      | --slice takes a positive number
            non-numeric slice     | --slice 1k HELLO                      | Invalid value for option '--slice'
            unknown option        | --frobnicate HELLO                    | Unknown option: '--frobnicate'
            no module             | --stats                               | Missing required parameter: 'FILE'
            missing import        | --async-sleep env.nap HELLO           | imports no such function
            not a sleep           | --async-sleep env.sleep WRONGTYPE     | its type is (i32) -> (i32), a sleep takes
            missing directory     | --dir /no/such/dir HELLO              | no such directory
            bad env               | --env =x HELLO                        | --env takes NAME or NAME=VALUE
            data for our own      | --asyncify-data 0:64 HELLO            | is for modules asyncified already
            region out of memory  | --asyncify-data 65536:64 BINFIXED     | must be 4-byte aligned and lie within
            no such allocator     | --asyncify-data nope:64 BINFIXED      | exports no allocator 'nope'
            """)
    void usageErrorsExit2WithAShortMessage(String name, String args, String expected) {
        List<String> argv = new ArrayList<>();
        argv.add("run");
        for (String a : args.split(" ")) {
            argv.add(switch (a) {
                case "HELLO" -> resource("hello.wat");
                case "BINARYEN" -> fixture("sleep_loop.binaryen.wasm");
                case "BINFIXED" -> fixture("sleep_fixed.binaryen.wasm");
                case "WRONGTYPE" -> fixture("sleep_wrong_type.wat");
                default -> a;
            });
        }
        Result r = run(argv.toArray(String[]::new));
        assertThat(r.code()).as(name + ": " + r.err()).isEqualTo(2);
        assertThat(r.out()).as("nothing ran").isEmpty();
        List<String> lines = r.err().lines().toList();
        assertThat(lines).as(r.err()).isNotEmpty().hasSizeLessThanOrEqualTo(2);
        assertThat(lines.get(0)).startsWith("asyncify4j run: ");
        assertThat(lines.get(0)).contains(expected);
        if (lines.size() == 2) {
            assertThat(lines.get(1)).startsWith("Usage: asyncify4j run [OPTIONS] FILE [ARG...]");
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            info      | info
            shell     | shell --frobnicate x.wat
            transform | transform in.wat
            spectest  | spectest --jobs many
            bench     | bench --iterations x
            fuzz      | fuzz --seconds x
            sample    | sample --frobnicate
            top level | --frobnicate
            """)
    void everyCommandsUsageErrorsAreTwoLines(String name, String args) {
        Result r = run(args.split(" "));
        assertThat(r.code()).as(r.err()).isEqualTo(2);
        List<String> lines = r.err().lines().toList();
        assertThat(lines).as(r.err()).hasSize(2);
        assertThat(lines.get(0)).startsWith("asyncify4j");
        assertThat(lines.get(1)).startsWith("Usage: asyncify4j");
    }

    @Test
    void helpDescribesTheWasiOptions() {
        Result r = run("run", "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("--dir=HOST[::GUEST]", "--env=NAME[=VALUE]", "--inherit-env", "--async-sleep",
                "--asyncify-data", "--stats", "no environment variables", "_initialize", "Options go before FILE");
    }
}
