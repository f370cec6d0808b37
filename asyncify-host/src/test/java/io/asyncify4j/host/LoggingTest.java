package io.asyncify4j.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.asyncify4j.engine.Engines;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Logs name the module and the instance, at the levels the README gives. */
class LoggingTest {

    @Test
    void preparationCreationSuspensionsAndStopsAreLoggedWithIdentity() throws Exception {
        Logger root = (Logger) LoggerFactory.getLogger("io.asyncify4j");
        Level before = root.getLevel();
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        root.addAppender(logs);
        root.setLevel(Level.TRACE);
        String wat = """
                (module
                  (import "env" "fetch" (func $fetch (param i32) (result i32)))
                  (func (export "f") (result i32) (i32.add (i32.const 918273) (call $fetch (i32.const 1))))
                  (func (export "spin") (loop (br 0))))
                """;
        try (AsyncInstance guest = AsyncInstance.builderFromWat(wat)
                .withAsyncImport(AsyncImport.ofIntToInt("env", "fetch", x -> CompletableFuture.supplyAsync(() -> x,
                        CompletableFuture.delayedExecutor(10, TimeUnit.MILLISECONDS))))
                .withFuelBudget(100_000)
                .build()) {
            guest.call("f").get(10, TimeUnit.SECONDS);
            guest.call("spin").handle((v, e) -> e).get(30, TimeUnit.SECONDS);
        } finally {
            root.detachAppender(logs);
            root.setLevel(before);
        }
        List<String> lines = logs.list.stream().map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
        // The module's id: its name-section name, else (as here: the text parser writes no names) its hash.
        String id = lines.stream().filter(l -> l.startsWith("INFO module sha256:")).findFirst()
                .map(l -> l.substring("INFO module ".length(), l.indexOf(':', "INFO module sha256:".length())))
                .orElseThrow(() -> new AssertionError("no transform summary in " + lines));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("INFO module " + id + ": asyncified")
                .contains("functions instrumented").contains(" ms"));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("DEBUG instance " + id + "#")
                .contains("created on the interpreter").contains("budget 100000"));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("TRACE instance " + id + "#")
                .contains("call to 'f' suspended in env.fetch"));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("DEBUG instance " + id + "#")
                .contains("call to 'spin' stopped, instance discarded"));
    }

    /** Instances of one module on the compiler engine share its compiled code: compiled once, when the module is built. */
    @Test
    void theCompilerCompilesAModuleOncePerPreparation() throws Exception {
        assumeTrue(Engines.compilerSupported(), "Endive's compiler " + Engines.compilerVersion()
                + " cannot run modules of runtime " + Engines.version() + " (endive-latest profile)");
        Logger logger = (Logger) LoggerFactory.getLogger(PreparedModule.class);
        Level before = logger.getLevel();
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        logger.addAppender(logs);
        logger.setLevel(Level.DEBUG);
        String wat = "(module (func (export \"f\") (result i32) (i32.const 7364501)))";
        try {
            InstancePre pre = Linker.builder().build().instantiatePre(
                    AsyncModule.builderFromWat(wat).withEngine(Engine.COMPILER).build());
            for (int i = 0; i < 3; i++) {
                try (AsyncInstance guest = pre.instantiate()) {
                    assertThat(guest.callBlocking("f")).containsExactly(7364501);
                }
            }
        } finally {
            logger.detachAppender(logs);
            logger.setLevel(before);
        }
        assertThat(logs.list.stream().map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains("compiled in")))
                .hasSize(1);
    }
}
