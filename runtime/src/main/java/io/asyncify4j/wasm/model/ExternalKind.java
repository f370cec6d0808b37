package io.asyncify4j.wasm.model;

/** What an import or export refers to, with its binary code. */
public enum ExternalKind {
    FUNCTION(0), TABLE(1), MEMORY(2), GLOBAL(3), TAG(4);

    public final int code;

    ExternalKind(int code) {
        this.code = code;
    }

    public static ExternalKind ofCode(int code) {
        for (ExternalKind k : values()) {
            if (k.code == code) {
                return k;
            }
        }
        return null;
    }
}
