package io.asyncify4j.wasm.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The {@code name} custom section, decoded: module name, function, local and global names (the ones
 * whose indices a transform may shift). Other subsections are kept raw, in order.
 */
public final class NameSection {
    /** A subsection the model does not interpret. */
    public record RawSubsection(int id, byte[] content) {}

    private String moduleName;
    private final Map<Integer, String> functionNames = new TreeMap<>();
    private final Map<Integer, Map<Integer, String>> localNames = new TreeMap<>();
    private final Map<Integer, String> globalNames = new TreeMap<>();
    private final List<RawSubsection> otherSubsections = new ArrayList<>();
    private int afterSection;

    public String moduleName() {
        return moduleName;
    }

    public void setModuleName(String moduleName) {
        this.moduleName = moduleName;
    }

    public Map<Integer, String> functionNames() {
        return functionNames;
    }

    public Map<Integer, Map<Integer, String>> localNames() {
        return localNames;
    }

    /** Global names (subsection 7 of the extended name section). */
    public Map<Integer, String> globalNames() {
        return globalNames;
    }

    public List<RawSubsection> otherSubsections() {
        return otherSubsections;
    }

    /** Id of the known section the name section followed in the input (normally the last one). */
    public int afterSection() {
        return afterSection;
    }

    public void setAfterSection(int afterSection) {
        this.afterSection = afterSection;
    }
}
