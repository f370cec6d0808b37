package io.asyncify4j.cli;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Where the CLI runs from. */
final class CliPaths {
    private CliPaths() {}

    /**
     * Repository roots to look for the testsuite from: the root of the checkout the CLI jar was built
     * in ({@code <root>/cli/target/asyncify4j-cli.jar}), when it can be told.
     */
    static List<Path> repoRootHints() {
        List<Path> hints = new ArrayList<>();
        try {
            var source = Main.class.getProtectionDomain().getCodeSource();
            if (source != null && source.getLocation() != null) {
                Path location = Path.of(source.getLocation().toURI()).toAbsolutePath();
                // .../cli/target/asyncify4j-cli.jar or .../cli/target/classes
                Path target = location.getParent();
                if (target != null && target.getParent() != null && target.getParent().getParent() != null) {
                    Path root = target.getParent().getParent();
                    if (Files.isRegularFile(root.resolve("pom.xml"))) {
                        hints.add(root);
                    }
                }
            }
        } catch (URISyntaxException | SecurityException | IllegalArgumentException e) {
            // no hint
        }
        return hints;
    }
}
