package io.asyncify4j.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * README's library section is what consumer-check builds and runs as a user's project: its Maven
 * coordinates are that project's dependencies, and its Java snippet that project's PluginHost.java.
 */
class ReadmeLibraryTest {

    private static Path repoRoot() {
        return Path.of(System.getProperty("asyncify4j.repoRoot", ".."));
    }

    @Test
    void readmeShowsTheConsumerProjectVerbatim() throws Exception {
        String readme = Files.readString(repoRoot().resolve("README.md"));
        Path consumer = repoRoot().resolve("consumer-check/src/it/plugin-host");
        String source = Files.readString(consumer.resolve("src/main/java/PluginHost.java"));
        assertThat(readme).contains("```java\n" + source + "```\n");
        String coordinates = readme.substring(readme.indexOf("```xml\n<dependencyManagement>") + "```xml\n".length());
        coordinates = coordinates.substring(0, coordinates.indexOf("```"));
        String pom = Files.readString(consumer.resolve("pom.xml"));
        String block = pom.substring(pom.indexOf("<!-- README begin -->\n") + "<!-- README begin -->\n".length(),
                pom.indexOf("  <!-- README end -->"));
        assertThat(block.lines().map(l -> l.replaceFirst("^  ", "")).toList()).isEqualTo(coordinates.lines().toList());
    }

    /** The BOM has no parent (users import it): its engine versions must be the build's own. */
    @Test
    void theBomPinsTheEngineVersionsTheBuildUses() throws Exception {
        String parent = Files.readString(repoRoot().resolve("pom.xml"));
        String bom = Files.readString(repoRoot().resolve("bom/pom.xml"));
        for (String property : new String[] {"endive.version", "endive-compiler.version", "chicory-wabt.version"}) {
            assertThat(property(bom, property)).as(property).isEqualTo(property(parent, property));
        }
    }

    /** The first {@code <name>value</name>} of a pom: the default (the profile's overrides come later). */
    private static String property(String pom, String name) {
        int start = pom.indexOf("<" + name + ">");
        assertThat(start).as(name).isNotNegative();
        return pom.substring(start + name.length() + 2, pom.indexOf("</" + name + ">", start));
    }

    @Test
    void thePluginReadmeNamesIsThere() {
        assertThat(repoRoot().resolve("consumer-check/src/it/plugin-host/plugin.wasm")).isRegularFile();
    }
}
