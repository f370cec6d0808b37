package io.asyncify4j.adversarial;

import io.asyncify4j.spectest.Testsuite;
import io.asyncify4j.spectest.wast.CommandKind;
import io.asyncify4j.spectest.wast.WastCommand;
import io.asyncify4j.spectest.wast.WastConverter;
import io.asyncify4j.spectest.wast.WastScript;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/** Where fuzzing seeds and spec modules come from. */
public final class SeedCorpus {
    /** A module and where it came from. */
    public record Seed(String name, byte[] bytes) {}

    /** A binary module of a spec script and the command it belongs to. */
    public record SpecModule(String script, int line, CommandKind kind, byte[] bytes) {}

    private SeedCorpus() {}

    /** Every {@code .wasm} file under {@code dir}, sorted by path. */
    public static List<Seed> directory(Path dir) throws IOException {
        List<Seed> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(p -> p.toString().endsWith(".wasm")).sorted().toList()) {
                out.add(new Seed(dir.relativize(p).toString(), Files.readAllBytes(p)));
            }
        }
        return out;
    }

    /** The repository root: system property {@code asyncify4j.repoRoot}, else the working directory or a parent with workloads/. */
    public static Path repoRoot() {
        String configured = System.getProperty(Testsuite.REPO_ROOT_PROPERTY);
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("workloads")) && Files.isRegularFile(dir.resolve("pom.xml"))) {
                return dir;
            }
        }
        return Path.of("").toAbsolutePath();
    }

    /** The spec testsuite, when it can be found. */
    public static Optional<Path> testsuite() {
        return Testsuite.locate(null, List.of(repoRoot()));
    }

    /**
     * The binary modules of the spec scripts in the harness's default selection (converted with
     * wast2json through the harness's cache): modules the scripts load and modules they assert to be
     * invalid. Text modules ({@code module quote}) are left out.
     */
    public static List<SpecModule> specModules(Path testsuite) throws IOException {
        WastConverter converter = new WastConverter(WastConverter.defaultCacheDir());
        List<SpecModule> out = new ArrayList<>();
        for (Path script : Testsuite.defaultSelection(testsuite)) {
            WastConverter.Conversion c = converter.convert(script);
            if (!c.converted()) {
                continue;
            }
            String id = Testsuite.scriptId(testsuite, script);
            WastScript ws = WastScript.load(id, script, c.json());
            for (WastCommand cmd : ws.commands()) {
                if (cmd.filename() == null || cmd.isTextModule()) {
                    continue;
                }
                switch (cmd.kind()) {
                    case MODULE: case ASSERT_INVALID: case ASSERT_MALFORMED: case ASSERT_TRAP:
                    case ASSERT_UNLINKABLE: case ASSERT_UNINSTANTIABLE:
                        out.add(new SpecModule(id, cmd.line(), cmd.kind(), ws.readModule(cmd.filename())));
                        break;
                    default:
                        break;
                }
            }
        }
        return out;
    }

    /**
     * The default seeds: the C workloads, and the modules the spec scripts load (when the testsuite
     * is found), deduplicated.
     */
    public static List<Seed> defaults() throws IOException {
        List<Seed> out = new ArrayList<>(directory(repoRoot().resolve("workloads")));
        Optional<Path> suite = testsuite();
        if (suite.isPresent()) {
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (SpecModule m : specModules(suite.get())) {
                if (m.kind() == CommandKind.MODULE && seen.add(java.util.Arrays.toString(m.bytes()))) {
                    out.add(new Seed(m.script() + ":" + m.line(), m.bytes()));
                }
            }
        }
        return out;
    }
}
