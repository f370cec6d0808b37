package io.asyncify4j.wasm.typing;

import io.asyncify4j.wasm.model.ValType;
import java.util.Arrays;

/**
 * The operand stack at one program point: every value's type, bottom first, across all enclosing
 * blocks; the heights at which each enclosing block's values start (outermost first, the function
 * body's frame at 0); and whether the point is unreachable (then {@link ValType#UNKNOWN} may appear).
 *
 * <p>States share their structure (persistent lists, innermost end first), so typing a function costs
 * memory in proportion to its size, not to its size times its stack height or nesting depth. The
 * arrays of {@link #stack()} and {@link #frameHeights()} are built on demand; {@link #height()},
 * {@link #frameBase()}, {@link #fromTop(int)} and {@link #top(int)} are cheap.
 */
public final class StackState {
    /** One operand-stack value on top of the values below it. */
    record Value(ValType type, Value below, int height) {}

    /** The start height of one enclosing block's values, inside the blocks around it. */
    record FrameStart(int height, FrameStart outer, int depth) {}

    private final Value top;
    private final FrameStart frame;
    private final boolean unreachable;

    StackState(Value top, FrameStart frame, boolean unreachable) {
        this.top = top;
        this.frame = frame;
        this.unreachable = unreachable;
    }

    /** Number of values on the stack. */
    public int height() {
        return top == null ? 0 : top.height();
    }

    /** Height at which the innermost block's own values start. */
    public int frameBase() {
        return frame.height();
    }

    public boolean unreachable() {
        return unreachable;
    }

    /** The type {@code depth} slots below the top (0 = top). */
    public ValType fromTop(int depth) {
        Value v = top;
        for (int i = 0; i < depth; i++) {
            v = v.below();
        }
        return v.type();
    }

    /** The top {@code n} types, bottom first (in time proportional to {@code n}). */
    public ValType[] top(int n) {
        ValType[] out = new ValType[n];
        Value v = top;
        for (int i = n - 1; i >= 0; i--) {
            out[i] = v.type();
            v = v.below();
        }
        return out;
    }

    /** Every value's type, bottom first. */
    public ValType[] stack() {
        return top(height());
    }

    /** The start heights of the enclosing blocks' values, outermost (the function body, 0) first. */
    public int[] frameHeights() {
        int[] out = new int[frame.depth()];
        FrameStart f = frame;
        for (int i = out.length - 1; i >= 0; i--) {
            out[i] = f.height();
            f = f.outer();
        }
        return out;
    }

    @Override
    public String toString() {
        return Arrays.toString(stack()) + " frames=" + Arrays.toString(frameHeights()) + (unreachable ? " unreachable" : "");
    }
}
