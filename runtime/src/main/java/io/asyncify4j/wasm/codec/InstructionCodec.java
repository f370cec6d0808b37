package io.asyncify4j.wasm.codec;

import io.asyncify4j.wasm.binary.BinaryReader;
import io.asyncify4j.wasm.binary.BinaryWriter;
import io.asyncify4j.wasm.binary.MalformedModuleException;
import io.asyncify4j.wasm.ir.BlockInstruction;
import io.asyncify4j.wasm.ir.BlockType;
import io.asyncify4j.wasm.ir.Catch;
import io.asyncify4j.wasm.ir.IfInstruction;
import io.asyncify4j.wasm.ir.Immediates;
import io.asyncify4j.wasm.ir.Instruction;
import io.asyncify4j.wasm.ir.Opcode;
import io.asyncify4j.wasm.ir.SimpleInstruction;
import io.asyncify4j.wasm.ir.StructuredInstruction;
import io.asyncify4j.wasm.ir.TryTableInstruction;
import io.asyncify4j.wasm.model.ValType;
import io.asyncify4j.asyncify.LoadLimitExceededException;
import io.asyncify4j.asyncify.LoadLimits;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.function.IntPredicate;

/** Reads instruction sequences into the structured IR and writes them back. */
final class InstructionCodec {
    private InstructionCodec() {}

    private static final int ELSE = 0x05;
    private static final int END = 0x0B;

    /** An open structured instruction while its body is being read. */
    private static final class Frame {
        final Opcode opcode;
        final BlockType blockType;
        final List<Catch> catches;
        final List<Instruction> body = new ArrayList<>();
        List<Instruction> thenBody;

        Frame(Opcode opcode, BlockType blockType, List<Catch> catches) {
            this.opcode = opcode;
            this.blockType = blockType;
            this.catches = catches;
        }

        Instruction build() {
            switch (opcode) {
                case BLOCK: case LOOP: return new BlockInstruction(opcode, blockType, body);
                case IF:
                    return thenBody == null ? new IfInstruction(blockType, body, List.of())
                            : new IfInstruction(blockType, thenBody, body);
                case TRY_TABLE: return new TryTableInstruction(blockType, catches, body);
                default: throw new IllegalStateException(opcode.toString());
            }
        }
    }

    /**
     * Reads instructions up to and including the {@code end} that closes the expression.
     *
     * @param memoryIs64 tells whether memory {@code i} has 64-bit addresses (its memarg offsets are u64)
     * @param maxDepth most structured instructions open at once (a {@link LoadLimitExceededException} beyond)
     * @param function the function index whose body this is, or -1 (for the error)
     */
    static List<Instruction> readExpression(BinaryReader r, IntPredicate memoryIs64, int maxDepth, int function) {
        Deque<Frame> open = new ArrayDeque<>();
        Frame root = new Frame(null, null, null);
        open.push(root);
        while (true) {
            int start = r.position();
            int b = r.u8();
            if (b == END) {
                Frame done = open.pop();
                if (done == root) {
                    return done.body;
                }
                open.peek().body.add(done.build());
                continue;
            }
            if (b == ELSE) {
                Frame top = open.peek();
                if (top.opcode != Opcode.IF || top.thenBody != null) {
                    throw new MalformedModuleException("else without a matching if", start);
                }
                top.thenBody = new ArrayList<>(top.body);
                top.body.clear();
                continue;
            }
            Opcode op;
            if (b == 0xFB || b == 0xFC || b == 0xFD || b == 0xFE) {
                long sub = r.u32();
                op = sub > 0xFFFF ? null : Opcode.of(b, (int) sub);
                if (op == null) {
                    throw new MalformedModuleException("illegal opcode 0x" + Integer.toHexString(b) + " "
                            + sub, start);
                }
            } else {
                op = Opcode.of(0, b);
                if (op == null) {
                    throw new MalformedModuleException("illegal opcode 0x" + Integer.toHexString(b), start);
                }
            }
            if ((op.immediates == Immediates.BLOCK || op.immediates == Immediates.TRY_TABLE)
                    && open.size() > maxDepth) {
                throw new LoadLimitExceededException(LoadLimits.NESTING_DEPTH, open.size(), maxDepth, function);
            }
            switch (op.immediates) {
                case BLOCK:
                    open.push(new Frame(op, TypeCodec.readBlockType(r), null));
                    break;
                case TRY_TABLE: {
                    BlockType bt = TypeCodec.readBlockType(r);
                    int n = r.index();
                    List<Catch> catches = new ArrayList<>();
                    for (int i = 0; i < n; i++) {
                        int kindStart = r.position();
                        int k = r.u8();
                        if (k > 3) {
                            throw new MalformedModuleException("malformed catch clause kind " + k, kindStart);
                        }
                        Catch.Kind kind = Catch.Kind.values()[k];
                        int tag = kind.hasTag() ? r.index() : -1;
                        catches.add(new Catch(kind, tag, r.index()));
                    }
                    open.push(new Frame(op, bt, catches));
                    break;
                }
                default:
                    open.peek().body.add(readSimple(r, op, memoryIs64));
            }
        }
    }

    private static SimpleInstruction readSimple(BinaryReader r, Opcode op, IntPredicate memoryIs64) {
        switch (op.immediates) {
            case NONE:
                return SimpleInstruction.of(op);
            case ZERO_BYTE: {
                int start = r.position();
                if (r.u8() != 0) {
                    throw new MalformedModuleException("zero byte expected after " + op.textName(), start);
                }
                return SimpleInstruction.of(op);
            }
            case INDEX:
                return SimpleInstruction.of(op, r.u32());
            case INDEX_INDEX:
                return SimpleInstruction.of(op, r.u32(), r.u32());
            case MEMARG:
                return SimpleInstruction.of(op, readMemarg(r, memoryIs64));
            case MEMARG_LANE: {
                long[] m = readMemarg(r, memoryIs64);
                return SimpleInstruction.of(op, m[0], m[1], m[2], r.u8());
            }
            case LANE:
                return SimpleInstruction.of(op, r.u8());
            case I32:
                return SimpleInstruction.of(op, r.s32());
            case I64:
                return SimpleInstruction.of(op, r.s64());
            case F32:
                return SimpleInstruction.of(op, r.f32Bits());
            case F64:
                return SimpleInstruction.of(op, r.f64Bits());
            case V128: {
                long lo = r.f64Bits();
                long hi = r.f64Bits();
                return SimpleInstruction.of(op, lo, hi);
            }
            case SELECT_TYPES: {
                int n = r.index();
                List<ValType> types = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    types.add(TypeCodec.readValType(r));
                }
                return new SimpleInstruction(op, new long[0], types);
            }
            case HEAP_TYPE:
                return SimpleInstruction.of(op, TypeCodec.readHeapType(r));
            case BR_ON_CAST: {
                int flags = r.u8();
                long label = r.u32();
                return SimpleInstruction.of(op, flags, label, TypeCodec.readHeapType(r), TypeCodec.readHeapType(r));
            }
            case BR_TABLE: {
                int n = r.index();
                if (n > r.end() - r.position()) {
                    throw r.error("br_table label count " + n + " exceeds the remaining bytes");
                }
                long[] labels = new long[n + 1];
                for (int i = 0; i <= n; i++) {
                    labels[i] = r.u32();
                }
                return SimpleInstruction.of(op, labels);
            }
            default:
                throw new IllegalStateException(op + " " + op.immediates);
        }
    }

    /** Reads a memarg as {align, offset, memory index}; bit 6 of the align field announces a memory index. */
    private static long[] readMemarg(BinaryReader r, IntPredicate memoryIs64) {
        int start = r.position();
        long flags = r.u32();
        long memory = 0;
        if ((flags & 0x40) != 0) {
            flags &= ~0x40L;
            memory = r.u32();
        }
        if (flags >= 0x40) {
            throw new MalformedModuleException("malformed memop flags " + flags, start);
        }
        long offset = memory <= Integer.MAX_VALUE && memoryIs64.test((int) memory) ? r.u64() : r.u32();
        return new long[] {flags, offset, memory};
    }

    // ------------------------------------------------------------------ writing

    /**
     * Writes {@code body} followed by the closing {@code end}. Iterative (an explicit stack of open
     * bodies), so nesting depth costs heap, not Java stack.
     */
    static void writeExpression(BinaryWriter w, List<Instruction> body) {
        Deque<Iterator<Instruction>> open = new ArrayDeque<>();
        Deque<List<Instruction>> pendingElse = new ArrayDeque<>(); // per open body: the else arm to write next, or empty
        open.push(body.iterator());
        pendingElse.push(List.of());
        while (!open.isEmpty()) {
            Iterator<Instruction> it = open.peek();
            if (!it.hasNext()) {
                open.pop();
                List<Instruction> elseArm = pendingElse.pop();
                if (!elseArm.isEmpty()) {
                    w.u8(ELSE);
                    open.push(elseArm.iterator());
                    pendingElse.push(List.of());
                    continue;
                }
                w.u8(END);
                continue;
            }
            Instruction in = it.next();
            writeHead(w, in);
            if (in instanceof StructuredInstruction s) {
                open.push(s.body().iterator());
                pendingElse.push(s instanceof IfInstruction i ? i.elseBody() : List.of());
            }
        }
    }

    private static void writeOpcode(BinaryWriter w, Opcode op) {
        if (op.isPrefixed()) {
            w.u8(op.prefix);
            w.u32(op.code);
        } else {
            w.u8(op.code);
        }
    }

    /** Writes an instruction's opcode and immediates; for a structured one, not its bodies. */
    private static void writeHead(BinaryWriter w, Instruction in) {
        Opcode op = in.opcode();
        writeOpcode(w, op);
        if (in instanceof StructuredInstruction s) {
            TypeCodec.writeBlockType(w, s.blockType());
            if (s instanceof TryTableInstruction t) {
                w.u32(t.catches().size());
                for (Catch c : t.catches()) {
                    w.u8(c.kind().code);
                    if (c.kind().hasTag()) {
                        w.u32(c.tag());
                    }
                    w.u32(c.label());
                }
            }
            return;
        }
        SimpleInstruction si = (SimpleInstruction) in;
        switch (op.immediates) {
            case NONE:
                break;
            case ZERO_BYTE:
                w.u8(0);
                break;
            case INDEX:
                w.u32(si.immediate(0));
                break;
            case LANE:
                w.u8((int) si.immediate(0));
                break;
            case INDEX_INDEX:
                w.u32(si.immediate(0)).u32(si.immediate(1));
                break;
            case MEMARG:
            case MEMARG_LANE:
                long align = si.immediate(0);
                long memory = si.immediate(2);
                if (memory != 0) {
                    w.u32(align | 0x40).u32(memory);
                } else {
                    w.u32(align);
                }
                w.u64(si.immediate(1));
                if (op.immediates == Immediates.MEMARG_LANE) {
                    w.u8((int) si.immediate(3));
                }
                break;
            case I32:
                w.signed((int) si.immediate(0)); // an i32 is its low 32 bits, however it was built
                break;
            case I64:
                w.signed(si.immediate(0));
                break;
            case F32:
                w.f32Bits((int) si.immediate(0));
                break;
            case F64:
                w.f64Bits(si.immediate(0));
                break;
            case V128:
                w.f64Bits(si.immediate(0)).f64Bits(si.immediate(1));
                break;
            case SELECT_TYPES:
                w.u32(si.types().size());
                for (ValType t : si.types()) {
                    TypeCodec.writeValType(w, t);
                }
                break;
            case HEAP_TYPE:
                w.signed(si.immediate(0));
                break;
            case BR_ON_CAST:
                w.u8((int) si.immediate(0)).u32(si.immediate(1)).signed(si.immediate(2)).signed(si.immediate(3));
                break;
            case BR_TABLE: {
                int n = si.immediateCount() - 1;
                w.u32(n);
                for (int i = 0; i <= n; i++) {
                    w.u32(si.immediate(i));
                }
                break;
            }
            default:
                throw new IllegalStateException(op + " " + op.immediates);
        }
    }
}
