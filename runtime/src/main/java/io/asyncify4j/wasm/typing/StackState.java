package io.asyncify4j.wasm.typing;

import io.asyncify4j.wasm.model.ValType;
import java.util.Arrays;

/**
 * The operand stack at one program point: every value's type, bottom first, across all enclosing
 * blocks; the heights at which each enclosing block's values start (outermost first, the function
 * body's frame at 0); and whether the point is unreachable (then {@link ValType#UNKNOWN} may appear).
 */
public record StackState(ValType[] stack, int[] frameHeights, boolean unreachable) {

    public int height() {
        return stack.length;
    }

    /** Height at which the innermost block's own values start. */
    public int frameBase() {
        return frameHeights[frameHeights.length - 1];
    }

    /** The type {@code depth} slots below the top (0 = top). */
    public ValType fromTop(int depth) {
        return stack[stack.length - 1 - depth];
    }

    @Override
    public String toString() {
        return Arrays.toString(stack) + " frames=" + Arrays.toString(frameHeights) + (unreachable ? " unreachable" : "");
    }
}
