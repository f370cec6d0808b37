package io.asyncify4j.asyncify;

/**
 * The module imports from a namespace reserved for the runtime: {@code asyncify4j} (the host's state,
 * fuel and suspension imports) always, {@code asyncify} (Binaryen's pure-wasm runtime functions) unless
 * {@link AsyncifyOptions#pureWasm()} asks for that mode. A guest importing them could refill its own fuel
 * or drive the asyncify state machine.
 */
public class ReservedImportException extends AsyncifyException {
    private final String importName;

    public ReservedImportException(String importName, String why) {
        super("the module imports " + importName + ": " + why);
        this.importName = importName;
    }

    /** The import, as {@code module.name}. */
    public String importName() {
        return importName;
    }
}
