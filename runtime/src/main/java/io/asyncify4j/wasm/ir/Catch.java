package io.asyncify4j.wasm.ir;

/** A catch clause of {@code try_table}; {@code tag} is -1 for the catch_all kinds. */
public record Catch(Kind kind, int tag, int label) {
    /** Clause kinds with their binary codes. */
    public enum Kind {
        CATCH(0), CATCH_REF(1), CATCH_ALL(2), CATCH_ALL_REF(3);

        public final int code;

        Kind(int code) {
            this.code = code;
        }

        public boolean hasTag() {
            return this == CATCH || this == CATCH_REF;
        }

        public boolean pushesExnRef() {
            return this == CATCH_REF || this == CATCH_ALL_REF;
        }
    }
}
