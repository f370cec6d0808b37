package io.asyncify4j.asyncify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.asyncify4j.wasm.testutil.Wat;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The output is valid wasm for other tools too: wabt's validator, and Binaryen's optimizer and shell
 * (which also runs the transformed seed example). Skipped, by assumption, where the tools are absent.
 */
// A mis-transformed loop can spin forever instead of failing: bound every test.
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ExternalToolsTest {
    private static Path tool(String name) {
        String path = System.getenv("PATH");
        for (String dir : (path == null ? "/usr/bin" : path + File.pathSeparator + "/usr/bin").split(File.pathSeparator)) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    private record Result(int exit, String output) {}

    private static Result run(Path dir, String... command) throws IOException, InterruptedException {
        Path err = Files.createTempFile(dir, "stderr", ".txt");
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectError(err.toFile()).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("%s finished", command[0]).isTrue();
        String stderr = Files.readString(err);
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8) + (stderr.isEmpty() ? "" : "\n" + stderr));
    }

    private static String stdout(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("%s finished", command[0]).isTrue();
        assertThat(p.exitValue()).as("%s exit code", String.join(" ", command)).isZero();
        return new String(out, StandardCharsets.UTF_8);
    }

    /** A transform input, the options, and the wabt feature flags the input validates with. */
    private record Case(String name, byte[] input, AsyncifyOptions options, String... flags) {}

    private static List<Case> cases() throws IOException {
        String[] all = {"--enable-all"};
        byte[] seed = Guest.named(PureWasmTest.seedText());
        byte[] options = Guest.named(OptionsTest.MODULE);
        byte[] safety = Guest.named(SafetyTest.module());
        byte[] v128 = Wat.wat(ValueTypesTest.V128);
        byte[] refs = Wat.wat(ValueTypesTest.REFERENCE_TYPES_ONLY);
        return List.of(
                new Case("seed-defaults", seed, AsyncifyOptions.builder().pureWasm(true).build(), all),
                new Case("seed-driver", seed, Guest.driverOptions().pureWasm(true).build(), all),
                new Case("options-defaults", options, AsyncifyOptions.defaults(), all),
                new Case("options-asserts", options,
                        AsyncifyOptions.builder().removeList(List.of("$d")).asserts(true).build(), all),
                new Case("options-chaos", options, Guest.driverOptions().suspendAtFunctionEntriesAndLoops(true).build(),
                        all),
                new Case("safety-secondary", safety, Guest.driverOptions().build(), all),
                new Case("safety-module-memory", safety, AsyncifyOptions.defaults(), all),
                new Case("tail-calls", Wat.watAll(IndirectAndTailCallsTest.TAIL),
                        Guest.driverOptions().build(), all),
                new Case("multi-memory", Wat.watAll(ModuleFeaturesTest.MULTI_MEMORY),
                        Guest.driverOptions().build(), all),
                new Case("v128-via-host", v128, Guest.driverOptions().build(), all),
                new Case("v128-simd", v128, Guest.driverOptions().v128ViaHost(false).build(), all),
                // Reference types only (wabt 1.0.32 mis-types ref.func with --enable-all): the output must
                // need no feature beyond the input's (the secondary memory adds multi-memory, by design).
                new Case("reference-types", refs, AsyncifyOptions.defaults()),
                new Case("reference-types-secondary", refs, AsyncifyOptions.builder()
                        .dataLocation(AsyncifyOptions.DataLocation.SECONDARY_MEMORY).build(), "--enable-multi-memory"));
    }

    @Test
    void wabtValidatesTransformedOutputs(@TempDir Path dir) throws Exception {
        Path validate = tool("wasm-validate");
        assumeTrue(validate != null, "wasm-validate (wabt) is not installed");
        List<String> checked = new ArrayList<>();
        for (Case c : cases()) {
            Path in = dir.resolve(c.name() + ".in.wasm");
            Path out = dir.resolve(c.name() + ".wasm");
            Files.write(in, c.input());
            Files.write(out, Asyncify.transform(c.input(), c.options()));
            List<String> command = new ArrayList<>(List.of(validate.toString()));
            command.addAll(List.of(c.flags()));
            command.add(in.toString());
            Result input = run(dir, command.toArray(String[]::new));
            assertThat(input.exit()).as("the input of %s validates: %s", c.name(), input.output()).isZero();
            command.set(command.size() - 1, out.toString());
            Result r = run(dir, command.toArray(String[]::new));
            assertThat(r.exit()).as("wasm-validate %s %s: %s", String.join(" ", c.flags()), c.name(), r.output())
                    .isZero();
            checked.add(c.name());
        }
        assertThat(checked).hasSize(13);
    }

    @Test
    void binaryenRunsTheTransformedSeedExample(@TempDir Path dir) throws Exception {
        Path opt = tool("wasm-opt");
        Path shell = tool("wasm-shell");
        assumeTrue(opt != null && shell != null, "wasm-opt and wasm-shell (Binaryen) are not installed");
        byte[] transformed = Asyncify.transform(Guest.named(PureWasmTest.seedText()), AsyncifyOptions.builder().pureWasm(true).build());
        Path wasm = dir.resolve("out.wasm");
        Files.write(wasm, transformed);
        Path wat = dir.resolve("out.wat");
        Files.writeString(wat, stdout(dir, opt.toString(), wasm.toString(), "--all-features", "--print"));
        Result shellRun = run(dir, shell.toString(), wat.toString());
        assertThat(shellRun.exit()).as("wasm-shell: %s", shellRun.output()).isZero();
        List<String> values = shellRun.output().lines().filter(l -> l.matches("\\d+ : i32")).toList();
        assertThat(values).containsExactly("1 : i32", "2 : i32", "3 : i32");

        // Binaryen's optimizer accepts the output, and its optimized version still runs correctly.
        Files.writeString(wat, stdout(dir, opt.toString(), wasm.toString(), "--all-features", "-O", "--print"));
        Result again = run(dir, shell.toString(), wat.toString());
        assertThat(again.output().lines().filter(l -> l.matches("\\d+ : i32")).toList())
                .containsExactly("1 : i32", "2 : i32", "3 : i32");
    }
}
