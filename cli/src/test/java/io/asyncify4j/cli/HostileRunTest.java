package io.asyncify4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code run --fuel 1000000} against one hostile guest of each class: it ends within seconds, with exit
 * code 3 (fuel budget used up) where the guest runs, or 2 with a one-line reason where it is refused at load
 * (it imports the runtime's reserved namespace).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HostileRunTest {

    private static int run(Path module, StringWriter err) {
        return Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true),
                "run", "--invoke", "main", "--fuel", "1000000", module.toString());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            br_if loop           | 3 | (module (func (export "main") (loop (br_if 0 (i32.const 1)))))
            br_table loop        | 3 | (module (func (export "main") (loop (br_table 0 0 (i32.const 0)))))
            recursion            | 3 | (module (func $f (export "main") (call $f)))
            16 MiB fills         | 3 | (module (memory 256) (func (export "main") (loop (memory.fill (i32.const 0) (i32.const 1) (i32.const 16777216)) (br 0))))
            16 MiB copies        | 3 | (module (memory 512) (func (export "main") (loop (memory.copy (i32.const 0) (i32.const 16777216) (i32.const 16777216)) (br 0))))
            grow and shrink      | 3 | (module (memory 0) (func (export "main") (loop (drop (memory.grow (i32.const 1))) (br 0))))
            table grows          | 3 | (module (table 0 funcref) (func (export "main") (loop (drop (table.grow (ref.null func) (i32.const 100000))) (br 0))))
            table fills          | 3 | (module (table 100000 funcref) (func (export "main") (loop (table.fill (i32.const 0) (ref.null func) (i32.const 100000)) (br 0))))
            start function loop  | 3 | (module (func $s (loop (br 0))) (start $s) (func (export "main")))
            nested loops         | 3 | (module (func (export "main") (loop (loop (loop (loop (loop (loop (loop (loop (br 0)))))))))))
            refills its own fuel | 2 | (module (import "asyncify4j" "fuel" (global $f (mut i64))) (func (export "main") (loop (global.set $f (i64.const 1000000)) (br 0))))
            drives asyncify      | 2 | (module (import "asyncify4j" "state" (global $s (mut i32))) (func (export "main") (loop (global.set $s (i32.const 0)) (br 0))))
            """)
    void everyHostileGuestClassEndsWithinSeconds(String name, int expectedExit, String wat, @TempDir Path dir) throws Exception {
        Path module = Files.writeString(dir.resolve("guest.wat"), wat);
        StringWriter err = new StringWriter();
        long t0 = System.nanoTime();
        int code = run(module, err);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertThat(code).as(name + ": " + err).isEqualTo(expectedExit);
        assertThat(err.toString().strip().lines().count()).as("a short message, no stack trace: " + err).isLessThanOrEqualTo(2);
        assertThat(ms).as(name).isLessThan(30_000);
    }
}
