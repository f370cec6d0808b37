/**
 * The asyncify4j host runtime: {@link io.asyncify4j.host.AsyncInstance} (async imports as futures,
 * suspended calls holding no thread, metering, limits, termination), {@link io.asyncify4j.host.Scheduler}
 * (time slicing untrusted guests). Its API uses Chicory's own types for host functions, globals,
 * memories, tables and WASI options. The wasm text format is optional: with {@code com.dylibso.chicory:wabt}
 * on the path, {@code builderFromWat} and {@code .wat} files work.
 */
module asyncify4j.host {
    requires transitive asyncify4j.runtime;
    requires transitive com.dylibso.chicory.runtime;
    requires transitive com.dylibso.chicory.wasm;
    requires transitive com.dylibso.chicory.wasi;
    requires com.dylibso.chicory.compiler;
    requires org.slf4j;

    exports io.asyncify4j.host;
}
