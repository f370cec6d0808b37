/**
 * The asyncify4j host runtime: {@link io.asyncify4j.host.AsyncInstance} (async imports as futures,
 * suspended calls holding no thread, metering, limits, termination), {@link io.asyncify4j.host.Scheduler}
 * (time slicing untrusted guests). Its API uses the engine's (Endive's) own types for host functions, globals,
 * memories, tables and WASI options (Endive's). The wasm text format is optional: with {@code com.dylibso.chicory:wabt}
 * on the path, {@code builderFromWat} and {@code .wat} files work.
 */
module asyncify4j.host {
    requires transitive asyncify4j.runtime;
    requires transitive run.endive.runtime;
    requires transitive run.endive.wasm;
    requires transitive run.endive.wasi;
    requires org.slf4j;

    exports io.asyncify4j.host;
}
