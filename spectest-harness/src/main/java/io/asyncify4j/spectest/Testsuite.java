package io.asyncify4j.spectest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Locating the WebAssembly testsuite and choosing scripts from it.
 *
 * <p>The testsuite (the {@code .wast} scripts of github.com/WebAssembly/testsuite) is looked up, in
 * order: an explicit directory ({@code --testsuite}); the environment variable
 * {@code WASM_TESTSUITE}; {@code ../shared/wasm-testsuite} relative to the repository root given by
 * the system property {@code asyncify4j.repoRoot} (set by Surefire) or to any other hinted root; then
 * the same relative to the working directory and its parents.
 */
public final class Testsuite {
    /** Environment variable naming the testsuite directory. */
    public static final String ENV = "WASM_TESTSUITE";
    /** System property naming the repository root. */
    public static final String REPO_ROOT_PROPERTY = "asyncify4j.repoRoot";
    /** Where the testsuite lives relative to the repository root. */
    public static final String RELATIVE_LOCATION = "../shared/wasm-testsuite";

    /**
     * The proposals run by default besides the core scripts: those the engine implements and wabt
     * converts (scripts wabt cannot convert are reported as skipped).
     */
    public static final List<String> DEFAULT_PROPOSALS =
            List.of("multi-memory", "tail-call", "threads", "extended-const", "exception-handling");

    private Testsuite() {}

    /**
     * Finds the testsuite.
     *
     * @param explicit a directory given by the user, or {@code null}; when given it is the only
     *     candidate
     * @param rootHints further repository roots to try (e.g. derived from the CLI jar location)
     */
    public static Optional<Path> locate(Path explicit, Collection<Path> rootHints) {
        if (explicit != null) {
            return Files.isDirectory(explicit) ? Optional.of(explicit.toAbsolutePath().normalize()) : Optional.empty();
        }
        for (Path candidate : candidates(rootHints)) {
            if (looksLikeTestsuite(candidate)) {
                return Optional.of(candidate.toAbsolutePath().normalize());
            }
        }
        return Optional.empty();
    }

    /** Every place {@link #locate} looks at when nothing is explicit, in order. */
    public static List<Path> candidates(Collection<Path> rootHints) {
        LinkedHashSet<Path> out = new LinkedHashSet<>();
        String env = System.getenv(ENV);
        if (env != null && !env.isBlank()) {
            out.add(Path.of(env));
        }
        String repoRoot = System.getProperty(REPO_ROOT_PROPERTY);
        if (repoRoot != null && !repoRoot.isBlank()) {
            out.add(Path.of(repoRoot).resolve(RELATIVE_LOCATION).normalize());
        }
        for (Path hint : rootHints) {
            out.add(hint.resolve(RELATIVE_LOCATION).toAbsolutePath().normalize());
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            out.add(dir.resolve(RELATIVE_LOCATION).normalize());
        }
        return new ArrayList<>(out);
    }

    static boolean looksLikeTestsuite(Path dir) {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(p -> p.getFileName().toString().endsWith(".wast"));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The default selection: the core scripts (top level of the testsuite) and every script under
     * {@code proposals/NAME} for the {@link #DEFAULT_PROPOSALS}.
     */
    public static List<Path> defaultSelection(Path root) throws IOException {
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(root)) {
            s.filter(Testsuite::isWast).sorted().forEach(out::add);
        }
        for (String proposal : DEFAULT_PROPOSALS) {
            Path dir = root.resolve("proposals").resolve(proposal);
            if (Files.isDirectory(dir)) {
                out.addAll(walk(dir));
            }
        }
        return out;
    }

    /**
     * Expands paths: a {@code .wast} file stands for itself, a directory for every {@code .wast} below
     * it (recursively, sorted). Duplicates are dropped.
     *
     * @throws NoSuchFileException for a path that does not exist
     * @throws IllegalArgumentException for a file that is not a {@code .wast}
     */
    public static List<Path> discover(Collection<Path> paths) throws IOException {
        LinkedHashSet<Path> out = new LinkedHashSet<>();
        for (Path p : paths) {
            if (Files.isDirectory(p)) {
                out.addAll(walk(p));
            } else if (Files.isRegularFile(p)) {
                if (!isWast(p)) {
                    throw new IllegalArgumentException(p + " is not a .wast script");
                }
                out.add(p.toAbsolutePath().normalize());
            } else {
                throw new NoSuchFileException(p.toString(), null, "no such file or directory");
            }
        }
        return new ArrayList<>(out);
    }

    private static List<Path> walk(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile)
                    .filter(Testsuite::isWast)
                    .map(p -> p.toAbsolutePath().normalize())
                    .sorted()
                    .collect(Collectors.toList());
        }
    }

    private static boolean isWast(Path p) {
        return p.getFileName().toString().endsWith(".wast");
    }

    /**
     * The id of a script in reports and in the expected-failure list: its path relative to the
     * testsuite root with forward slashes when it lies inside it, else its file name.
     */
    public static String scriptId(Path root, Path script) {
        Path abs = script.toAbsolutePath().normalize();
        if (root != null) {
            Path r = root.toAbsolutePath().normalize();
            if (abs.startsWith(r)) {
                return r.relativize(abs).toString().replace('\\', '/');
            }
        }
        return abs.getFileName().toString();
    }
}
