/**
 * asyncify4j's core: the engine-free wasm codec, module model, typed IR and validator
 * ({@code io.asyncify4j.wasm.*}) and asyncify transform ({@code io.asyncify4j.asyncify}); and the
 * binding to the Endive engine ({@code io.asyncify4j.engine}), the one place that names engine classes.
 */
module asyncify4j.runtime {
    requires transitive run.endive.wasm;
    requires transitive run.endive.runtime;
    requires run.endive.compiler;
    requires org.slf4j;

    exports io.asyncify4j.asyncify;
    exports io.asyncify4j.wasm.binary;
    exports io.asyncify4j.wasm.codec;
    exports io.asyncify4j.wasm.ir;
    exports io.asyncify4j.wasm.model;
    exports io.asyncify4j.wasm.typing;
    exports io.asyncify4j.wasm.validation;
    exports io.asyncify4j.engine;
}
