package io.asyncify4j.spectest.wast;

/** The command types of wast2json's JSON output. */
public enum CommandKind {
    MODULE("module"),
    REGISTER("register"),
    ACTION("action"),
    ASSERT_RETURN("assert_return"),
    ASSERT_TRAP("assert_trap"),
    ASSERT_EXHAUSTION("assert_exhaustion"),
    ASSERT_EXCEPTION("assert_exception"),
    ASSERT_INVALID("assert_invalid"),
    ASSERT_MALFORMED("assert_malformed"),
    ASSERT_UNLINKABLE("assert_unlinkable"),
    ASSERT_UNINSTANTIABLE("assert_uninstantiable"),
    /** A command this harness does not know (reported as skipped). */
    UNKNOWN("?");

    private final String jsonName;

    CommandKind(String jsonName) {
        this.jsonName = jsonName;
    }

    public String jsonName() {
        return jsonName;
    }

    public static CommandKind fromJson(String name) {
        for (CommandKind k : values()) {
            if (k.jsonName.equals(name)) {
                return k;
            }
        }
        return UNKNOWN;
    }
}
