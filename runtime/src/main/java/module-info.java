/**
 * asyncify4j's engine-free core: the wasm codec, module model, typed IR and validator
 * ({@code io.asyncify4j.wasm.*}) and the asyncify transform ({@code io.asyncify4j.asyncify}); and, for
 * the host module only, the driving of asyncified instances on Chicory ({@code io.asyncify4j.chicory}).
 */
module asyncify4j.runtime {
    requires transitive com.dylibso.chicory.wasm;
    requires transitive com.dylibso.chicory.runtime;
    requires org.slf4j;

    exports io.asyncify4j.asyncify;
    exports io.asyncify4j.wasm.binary;
    exports io.asyncify4j.wasm.codec;
    exports io.asyncify4j.wasm.ir;
    exports io.asyncify4j.wasm.model;
    exports io.asyncify4j.wasm.typing;
    exports io.asyncify4j.wasm.validation;
    exports io.asyncify4j.chicory to asyncify4j.host;
}
