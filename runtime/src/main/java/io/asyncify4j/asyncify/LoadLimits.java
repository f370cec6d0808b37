package io.asyncify4j.asyncify;

/**
 * Limits on what a module may make the load path (decoding, the asyncify transform, encoding) do, so
 * that a small hostile module fails with a {@link LoadLimitExceededException} naming the limit instead
 * of exhausting the host's heap, stack or CPU. Each limit is checked before the work or memory it
 * guards is spent: the module size before decoding, function and local counts as their sections are
 * read, nesting depth as blocks are opened, the instrumented code size as functions are rewritten.
 *
 * <p>The defaults ({@link #defaults()}) are generous: well above real programs (a 30 MB C program has
 * about 34,000 functions and nests blocks a few thousand deep at most in its largest switch), and in
 * line with the implementation limits of the web engines (1,000,000 functions, 50,000 locals).
 *
 * @param maxModuleBytes        most bytes of the input module (default 256 MiB)
 * @param maxFunctions          most functions, imported and defined (default 1,000,000)
 * @param maxLocalsPerFunction  most declared locals of one function, params excluded (default 50,000)
 * @param maxNestingDepth       most structured instructions open at once in one function body or
 *                              constant expression (default 10,000)
 * @param maxOutputInstructions most instructions of the instrumented code of the whole module (default
 *                              100,000,000; each costs some tens of bytes of heap while the module is
 *                              transformed, and 1 to 5 bytes in the output)
 */
public record LoadLimits(long maxModuleBytes, int maxFunctions, int maxLocalsPerFunction, int maxNestingDepth,
                         long maxOutputInstructions) {

    public static final long DEFAULT_MAX_MODULE_BYTES = 256L << 20;
    public static final int DEFAULT_MAX_FUNCTIONS = 1_000_000;
    public static final int DEFAULT_MAX_LOCALS_PER_FUNCTION = 50_000;
    public static final int DEFAULT_MAX_NESTING_DEPTH = 10_000;
    public static final long DEFAULT_MAX_OUTPUT_INSTRUCTIONS = 100_000_000L;

    private static final LoadLimits DEFAULTS = new LoadLimits(DEFAULT_MAX_MODULE_BYTES, DEFAULT_MAX_FUNCTIONS,
            DEFAULT_MAX_LOCALS_PER_FUNCTION, DEFAULT_MAX_NESTING_DEPTH, DEFAULT_MAX_OUTPUT_INSTRUCTIONS);

    /** The limits' names, as {@link LoadLimitExceededException#limit()} reports them. */
    public static final String MODULE_BYTES = "module size (bytes)";
    public static final String FUNCTIONS = "function count";
    public static final String LOCALS_PER_FUNCTION = "locals per function";
    public static final String NESTING_DEPTH = "nesting depth";
    public static final String OUTPUT_INSTRUCTIONS = "instrumented code size (instructions)";

    public LoadLimits {
        if (maxModuleBytes < 8 || maxFunctions < 0 || maxLocalsPerFunction < 0 || maxNestingDepth < 1
                || maxOutputInstructions < 0) {
            throw new IllegalArgumentException("load limits out of range: " + maxModuleBytes + ", " + maxFunctions
                    + ", " + maxLocalsPerFunction + ", " + maxNestingDepth + ", " + maxOutputInstructions);
        }
    }

    /** The default limits (see the class description). */
    public static LoadLimits defaults() {
        return DEFAULTS;
    }

    public LoadLimits withMaxModuleBytes(long v) {
        return new LoadLimits(v, maxFunctions, maxLocalsPerFunction, maxNestingDepth, maxOutputInstructions);
    }

    public LoadLimits withMaxFunctions(int v) {
        return new LoadLimits(maxModuleBytes, v, maxLocalsPerFunction, maxNestingDepth, maxOutputInstructions);
    }

    public LoadLimits withMaxLocalsPerFunction(int v) {
        return new LoadLimits(maxModuleBytes, maxFunctions, v, maxNestingDepth, maxOutputInstructions);
    }

    public LoadLimits withMaxNestingDepth(int v) {
        return new LoadLimits(maxModuleBytes, maxFunctions, maxLocalsPerFunction, v, maxOutputInstructions);
    }

    public LoadLimits withMaxOutputInstructions(long v) {
        return new LoadLimits(maxModuleBytes, maxFunctions, maxLocalsPerFunction, maxNestingDepth, v);
    }

    /**
     * Checks a module model against the function, locals and nesting limits (the decoder checks them as
     * it reads; a model built or decoded otherwise is checked here before the transform walks it).
     * Iterative: costs heap, not stack, however deep the code nests.
     */
    void check(io.asyncify4j.wasm.model.ModuleModel m) {
        int imported = m.importedFunctionCount();
        long functions = (long) imported + m.functions().size();
        if (functions > maxFunctions) {
            throw new LoadLimitExceededException(FUNCTIONS, functions, maxFunctions, -1);
        }
        for (int i = 0; i < m.functions().size(); i++) {
            io.asyncify4j.wasm.model.Function f = m.functions().get(i);
            if (f.locals().size() > maxLocalsPerFunction) {
                throw new LoadLimitExceededException(LOCALS_PER_FUNCTION, f.locals().size(), maxLocalsPerFunction,
                        imported + i);
            }
            int depth = nestingDepth(f.body());
            if (depth > maxNestingDepth) {
                throw new LoadLimitExceededException(NESTING_DEPTH, depth, maxNestingDepth, imported + i);
            }
        }
    }

    /** Most structured instructions open at once in {@code body}. */
    static int nestingDepth(java.util.List<io.asyncify4j.wasm.ir.Instruction> body) {
        // Bodies still to scan, with the nesting depth of their instructions.
        java.util.ArrayDeque<java.util.List<io.asyncify4j.wasm.ir.Instruction>> todo = new java.util.ArrayDeque<>();
        java.util.ArrayDeque<Integer> depths = new java.util.ArrayDeque<>();
        todo.push(body);
        depths.push(0);
        int max = 0;
        while (!todo.isEmpty()) {
            java.util.List<io.asyncify4j.wasm.ir.Instruction> b = todo.pop();
            int depth = depths.pop();
            for (io.asyncify4j.wasm.ir.Instruction in : b) {
                if (in instanceof io.asyncify4j.wasm.ir.StructuredInstruction st) {
                    max = Math.max(max, depth + 1);
                    todo.push(st.body());
                    depths.push(depth + 1);
                    if (st instanceof io.asyncify4j.wasm.ir.IfInstruction i) {
                        todo.push(i.elseBody());
                        depths.push(depth + 1);
                    }
                }
            }
        }
        return max;
    }
}
