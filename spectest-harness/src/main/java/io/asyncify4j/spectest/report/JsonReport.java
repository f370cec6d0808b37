package io.asyncify4j.spectest.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Machine-readable report: per mode and per script, the counts, the failures and the skips.
 *
 * <pre>{@code
 * {"summary": {"passed": N, "failed": M, "skipped": K, "expectedFailures": E},
 *  "modes": [{"mode": "plain", "millis": ..., "passed": ..., "failed": ..., "skipped": ..., "expectedFailures": ...,
 *             "scripts": [{"script": "i32.wast", "passed": ..., "failed": ..., "skipped": ..., "expectedFailures": ...,
 *                          "skipReason": null, "millis": ...,
 *                          "failures": [{"line": 12, "command": "...", "expected": "...", "actual": "..."}],
 *                          "expectedFailureDetails": [{... "reason": "..."}],
 *                          "warnings": [...]}]}]}
 * }</pre>
 * {@code skipped} includes expected failures, as in the text summary.
 */
public final class JsonReport {
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private JsonReport() {}

    public static void write(List<SuiteReport> reports, Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        MAPPER.writeValue(file.toFile(), toTree(reports));
    }

    public static Map<String, Object> toTree(List<SuiteReport> reports) {
        Map<String, Object> root = new LinkedHashMap<>();
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("passed", reports.stream().mapToLong(SuiteReport::passed).sum());
        summary.put("failed", reports.stream().mapToLong(SuiteReport::failed).sum());
        summary.put("skipped", reports.stream().mapToLong(SuiteReport::skipped).sum());
        summary.put("expectedFailures", reports.stream().mapToLong(SuiteReport::expectedFailures).sum());
        summary.put("line", SuiteReport.summaryLine(reports));
        root.put("summary", summary);
        List<Object> modes = new ArrayList<>();
        for (SuiteReport r : reports) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("mode", r.mode());
            m.put("millis", r.millis());
            m.put("suspensions", r.suspensions());
            m.put("passed", r.passed());
            m.put("failed", r.failed());
            m.put("skipped", r.skipped());
            m.put("expectedFailures", r.expectedFailures());
            List<Object> scripts = new ArrayList<>();
            for (ScriptResult s : r.scripts()) {
                Map<String, Object> sm = new LinkedHashMap<>();
                sm.put("script", s.script());
                sm.put("passed", s.passed());
                sm.put("failed", s.failed());
                sm.put("skipped", s.skippedTotal());
                sm.put("expectedFailures", s.expectedFailures());
                sm.put("skipReason", s.skipReason());
                sm.put("millis", s.millis());
                sm.put("suspensions", s.suspensions());
                sm.put("failures", failures(s.failures()));
                sm.put("expectedFailureDetails", failures(s.expectedFailureDetails()));
                sm.put("skips", s.skips());
                sm.put("warnings", s.warnings());
                scripts.add(sm);
            }
            m.put("scripts", scripts);
            modes.add(m);
        }
        root.put("modes", modes);
        return root;
    }

    private static List<Object> failures(List<CommandFailure> failures) {
        List<Object> out = new ArrayList<>();
        for (CommandFailure f : failures) {
            Map<String, Object> fm = new LinkedHashMap<>();
            fm.put("line", f.line());
            fm.put("command", f.command());
            fm.put("expected", f.expected());
            fm.put("actual", f.actual());
            if (f.isExpected()) {
                fm.put("reason", f.expectedFailureReason());
            }
            out.add(fm);
        }
        return out;
    }
}
