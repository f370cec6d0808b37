import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs README's PluginHost on the C plugin (a surefire POJO test: no test framework needed). */
public class PluginHostTest {
    public void testTheSnippetRunsTheCPlugin() throws Exception {
        PrintStream original = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream capture = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            System.setOut(capture);
            PluginHost.main(new String[] {System.getProperty("plugin")});
        } finally {
            System.setOut(original);
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        System.out.print(out);
        if (!out.contains("handle(1): fetch(12) = 24") || !out.endsWith("handle(1) = 66\n")) {
            throw new AssertionError("unexpected output:\n" + out);
        }
    }
}
