#!/usr/bin/env python3
"""ptxsim: runs zl's hand-written PTX on the CPU, one thread at a time, for tests without a GPU.

ptxas checks the syntax of kernels/*.ptx; this interpreter checks what ptxas cannot: the logic.
It executes the same PTX text the driver loads, with IEEE f32/f64 arithmetic rounded exactly as
the GPU rounds it (every .rn add/sub/mul/div/sqrt is computed in f64 and rounded once to f32,
which is correctly rounded because 53 >= 2*24 + 2), and it fails loudly on anything a GPU would
do silently wrong:

  * a bar.sync that not every thread of the block reaches at the same instruction;
  * a shared-memory race: one thread writes a word that another thread reads or writes between
    the same two barriers (the simulator runs threads one after another, so a race would make
    the result depend on that order);
  * a shared or global access out of bounds or misaligned, or through a null pointer;
  * an f32 add/sub/mul without .rn, or any .ftz, fma or mad.f32 (ptxas could then fuse or flush);
  * an instruction it does not know (it supports the subset kernels/ uses, nothing more).

Usage (what zl-cuda's simulated device does): a JSON job on stdin, JSON results on stdout.
  {"ptx": "<PTX text>", "entry": "zl_train_f32", "grid": N, "block": T, "shared_bytes": S,
   "buffers": {"name": {"type": "f32"|"f64"|"u32", "bits": [...]}},   # bit patterns, as ints
   "params": [{"ptr": "name"} | {"ptr": null} | {"u32": n} | {"f32_bits": n}],  # entry order
   "outputs": ["name", ...]}
  or, for a stream of launches on the same buffers, "launches": [{"entry", "grid", "block",
  "shared_bytes", "params"}, ...] in place of the single launch's keys
  -> {"buffers": {"name": [bits...]}, "instructions": n, "barriers": n}
Errors go to stderr with exit status 1.

Only the standard library: it runs wherever python3 does.
"""
import json
import math
import re
import struct
import sys


class SimError(Exception):
    pass


# ---------------------------------------------------------------- bit patterns and rounding

_U32 = struct.Struct("<I")
_F32 = struct.Struct("<f")
_U64 = struct.Struct("<Q")
_F64 = struct.Struct("<d")
M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF
QNAN32 = 0x7FFFFFFF  # the NaN a GPU's f32 arithmetic produces


def f32(bits):
    return _F32.unpack(_U32.pack(bits))[0]


def bits32(x):
    """Rounds a Python float (f64) to the nearest f32, ties to even, and returns its bits."""
    if x != x:
        return QNAN32
    try:
        return _U32.unpack(_F32.pack(x))[0]
    except OverflowError:  # rounded past FLT_MAX: the IEEE result is an infinity
        return 0x7F800000 if x > 0 else 0xFF800000


def f64(bits):
    return _F64.unpack(_U64.pack(bits))[0]


def bits64(x):
    return _U64.unpack(_F64.pack(x))[0]


def s32(b):
    return b - (1 << 32) if b & 0x80000000 else b


def div_ieee(x, y):
    """x / y with IEEE semantics for zero divisors (Python raises instead)."""
    if y == 0:
        if x == 0 or x != x:
            return math.nan
        return math.copysign(math.inf, x) * math.copysign(1.0, y)
    return x / y


# ---------------------------------------------------------------- parsing


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def split_operands(s):
    """Splits on commas that are not inside () or []."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def parse_decl_list(s):
    """'.reg .u32 a, .reg .f32 b' or '.param .u64 p' -> [(space, type, name)]."""
    out = []
    for part in split_operands(s):
        toks = part.split()
        if len(toks) != 3:
            raise SimError(f"cannot parse parameter {part!r}")
        out.append((toks[0], toks[1].lstrip("."), toks[2]))
    return out


SPECIAL = ("%tid.x", "%ntid.x", "%ctaid.x", "%nctaid.x")


class Function:
    def __init__(self, name, rets, params, body, is_entry):
        self.name, self.rets, self.params, self.is_entry = name, rets, params, is_entry
        self.body = body
        self.regs = {}  # name -> type
        self.code = []


def parse_module(text):
    text = strip_comments(text)
    shared = {}
    for m in re.finditer(r"\.extern\s+\.shared\s+\.align\s+\d+\s+\.b8\s+(\w+)\[\]\s*;", text):
        shared[m.group(1)] = 0
    header = re.compile(
        r"(\.visible\s+\.entry|\.func)\s*(\([^)]*\))?\s*([A-Za-z_$][\w$]*)\s*\(([^)]*)\)\s*\{", re.S
    )
    funcs, pos = {}, 0
    while True:
        m = header.search(text, pos)
        if not m:
            break
        kind, rets, name, params = m.groups()
        depth, i = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        funcs[name] = Function(
            name,
            parse_decl_list(rets[1:-1]) if rets else [],
            parse_decl_list(params),
            text[m.end(): i - 1],
            kind.startswith(".visible"),
        )
        pos = i
    for f in funcs.values():
        Decoder(f, funcs, shared).run()
    return funcs, shared


# Instruction kinds, for the dispatch in Block.execute.
ALU, LD_SHARED, ST_SHARED, LD_GLOBAL, ST_GLOBAL, LD_PARAM, BRA, CALL, RET, BAR = range(10)
SIZE = {"f32": 4, "u32": 4, "s32": 4, "b32": 4, "f64": 8, "u64": 8, "s64": 8, "b64": 8}


class Ins:
    __slots__ = ("text", "guard", "neg", "kind", "dst", "srcs", "fn", "target", "base", "off",
                 "size", "callee", "args", "rets")


class Decoder:
    """Turns each statement into an Ins whose operands are resolved once: a source operand is
    (True, register name) or (False, constant), so execution does no parsing."""

    def __init__(self, f, funcs, shared):
        self.f, self.funcs, self.shared = f, funcs, shared

    def run(self):
        f = self.f
        for space, ty, name in f.params + f.rets:
            if space == ".reg":
                f.regs[name] = ty
        items = re.findall(r"([A-Za-z_$][\w$]*)\s*:|([^;:]+);", f.body)
        stmts = []
        for label, stmt in items:
            stmts.append(("label", label) if label else ("stmt", " ".join(stmt.split())))
        for kind, s in stmts:
            if kind == "stmt" and s.startswith(".reg"):
                _, ty, names = s.split(None, 2)
                for n in split_operands(names):
                    f.regs[n] = ty.lstrip(".")
        labels = {}
        for kind, s in stmts:
            if kind == "label":
                labels[s] = len(f.code)
            elif not s.startswith(".reg"):
                f.code.append(self.decode(s))
        for ins in f.code:
            if ins.kind == BRA:
                if ins.target not in labels:
                    raise SimError(f"{f.name}: branch to unknown label {ins.target}")
                ins.target = labels[ins.target]

    def fail(self, ins, why):
        raise SimError(f"{self.f.name}: {why}: {ins.text!r}")

    def src(self, o, ty, ins):
        if o in self.f.regs or o in SPECIAL or o in self.shared:
            return (True, o)
        if o[:2] in ("0f", "0F"):
            return (False, int(o[2:], 16) & M32)
        if o[:2] in ("0d", "0D"):
            return (False, int(o[2:], 16) & M64)
        if re.match(r"^-?(0x[0-9A-Fa-f]+|\d+)$", o):
            return (False, int(o, 0) & (M64 if SIZE.get(ty, 4) == 8 else M32))
        self.fail(ins, f"unknown operand {o}")

    def address(self, o, ins):
        m = re.match(r"^\[([\w$%.]+)\s*(?:\+\s*(-?\d+))?\]$", o)
        if not m:
            self.fail(ins, f"cannot parse address {o}")
        base, off = m.group(1), int(m.group(2) or 0)
        if base not in self.f.regs and base not in self.shared and not (
            self.f.is_entry and any(p[2] == base for p in self.f.params)
        ):
            self.fail(ins, f"unknown address base {base}")
        return base, off

    def dst(self, o, ins):
        if o not in self.f.regs:
            self.fail(ins, f"unknown destination {o}")
        return o

    def decode(self, s):
        ins = Ins()
        ins.text, ins.guard, ins.neg = s, None, False
        m = re.match(r"@(!?)([\w$]+)\s+(.*)", s)
        if m:
            ins.neg, ins.guard, s = m.group(1) == "!", m.group(2), m.group(3)
            if self.f.regs.get(ins.guard) != "pred":
                self.fail(ins, f"{ins.guard} is not a predicate")
        opc, _, rest = s.partition(" ")
        op, *mods = opc.split(".")
        ops = split_operands(rest) if rest else []
        if "ftz" in mods:
            self.fail(ins, ".ftz would flush subnormals the CPU keeps")
        if op in ("fma", "mad") and "f32" in mods:
            self.fail(ins, "an f32 fma/mad rounds once where the CPU rounds twice")
        if op in ("add", "sub", "mul") and "f32" in mods and "rn" not in mods:
            self.fail(ins, "an f32 add/sub/mul without .rn may be fused into an FMA")
        if op == "bra":
            ins.kind, ins.target = BRA, ops[0]
        elif op == "ret":
            ins.kind = RET
        elif op == "bar":
            if mods != ["sync"] or ops != ["0"]:
                self.fail(ins, "only bar.sync 0 is supported")
            ins.kind = BAR
        elif op == "call":
            m = re.match(r"\(([^)]*)\)\s*,\s*([\w$]+)\s*,\s*\(([^)]*)\)$", rest)
            if not m or m.group(2) not in self.funcs:
                self.fail(ins, "cannot parse the call or find its function")
            callee = self.funcs[m.group(2)]
            rets, args = split_operands(m.group(1)), split_operands(m.group(3))
            if len(rets) != len(callee.rets) or len(args) != len(callee.params):
                self.fail(ins, "call arity differs from the function's")
            ins.kind, ins.callee = CALL, callee
            ins.args = [(p[2], self.src(a, p[1], ins)) for a, p in zip(args, callee.params)]
            ins.rets = [(self.dst(r, ins), p[2]) for r, p in zip(rets, callee.rets)]
        elif op in ("ld", "st"):
            space, ty = mods[0], mods[-1]
            ins.size = SIZE[ty]
            if op == "ld":
                ins.dst = self.dst(ops[0], ins)
                ins.base, ins.off = self.address(ops[1], ins)
                ins.kind = {"shared": LD_SHARED, "global": LD_GLOBAL, "param": LD_PARAM}.get(space)
            else:
                ins.base, ins.off = self.address(ops[0], ins)
                ins.srcs = [self.src(ops[1], ty, ins)]
                ins.kind = {"shared": ST_SHARED, "global": ST_GLOBAL}.get(space)
            if ins.kind is None:
                self.fail(ins, f"unsupported state space .{space}")
            if space == "shared" and ins.size != 4:
                self.fail(ins, "only 32-bit shared accesses are supported")
        else:
            ty = mods[-1] if mods else None
            ins.kind = ALU
            ins.dst = self.dst(ops[0], ins)
            ins.srcs = [self.src(o, ty, ins) for o in ops[1:]]
            ins.fn = alu(op, mods, ins, self)
        return ins


def alu(op, mods, ins, dec):
    """The function computing one ALU instruction from its source values (bit patterns)."""
    ty = mods[-1] if mods else None
    fail = lambda why: dec.fail(ins, why)  # noqa: E731
    if op in ("mov", "cvta"):
        return lambda a: a
    if op == "selp":
        return lambda a, b, p: a if p else b
    if op == "setp":
        cmp, t = mods[0], mods[1]
        conv = {"f32": f32, "f64": f64, "s32": s32}.get(t, lambda x: x)
        base = {"eq": lambda x, y: x == y, "ne": lambda x, y: x != y, "lt": lambda x, y: x < y,
                "le": lambda x, y: x <= y, "gt": lambda x, y: x > y, "ge": lambda x, y: x >= y}
        if cmp == "nan":
            return lambda a, b: conv(a) != conv(a) or conv(b) != conv(b)
        if cmp.endswith("u") and cmp[:-1] in base:
            c = base[cmp[:-1]]

            def unordered(a, b):
                x, y = conv(a), conv(b)
                return x != x or y != y or c(x, y)
            return unordered
        if cmp not in base:
            fail("unsupported comparison")
        c = base[cmp]
        if t in ("f32", "f64") and cmp == "ne":
            return lambda a, b: (lambda x, y: x == x and y == y and x != y)(conv(a), conv(b))
        return lambda a, b: c(conv(a), conv(b))
    if op == "cvt":
        dst, src = mods[-2], mods[-1]
        if (dst, src) == ("f32", "f64"):
            if "rn" not in mods:
                fail("cvt.f32.f64 needs .rn")
            return lambda a: bits32(f64(a))
        if (dst, src) == ("f32", "s32"):
            return lambda a: bits32(float(s32(a)))
        if dst in ("u64", "s64") and src == "u32":
            return lambda a: a
        fail("unsupported conversion")
    if ty == "f32":
        if op in ("add", "sub", "mul", "div", "sqrt") and "rn" not in mods:
            fail(f"f32 {op} must round to nearest (.rn)")
        if op == "add":
            return lambda a, b: bits32(f32(a) + f32(b))
        if op == "sub":
            return lambda a, b: bits32(f32(a) - f32(b))
        if op == "mul":
            return lambda a, b: bits32(f32(a) * f32(b))
        if op == "div":
            return lambda a, b: bits32(div_ieee(f32(a), f32(b)))
        if op == "sqrt":
            return lambda a: (lambda x: QNAN32 if x != x or x < 0 else bits32(math.sqrt(x)))(f32(a))
        if op in ("max", "min"):
            want_max = op == "max"

            def minmax(a, b):
                x, y = f32(a), f32(b)
                if x != x:
                    return QNAN32 if y != y else b
                if y != y:
                    return a
                if x == y:  # equal, possibly +0 and -0: max prefers +0, min prefers -0
                    return (a & b) if want_max else (a | b)
                return a if (x > y) == want_max else b
            return minmax
        fail("unsupported f32 instruction")
    if ty == "f64":
        if op == "neg":
            return lambda a: a ^ (1 << 63)
        if "rn" not in mods:
            fail(f"f64 {op} must round to nearest (.rn)")
        if op == "div":
            return lambda a, b: bits64(div_ieee(f64(a), f64(b)))
        if op == "add":
            return lambda a, b: bits64(f64(a) + f64(b))
        if op == "mul":
            return lambda a, b: bits64(f64(a) * f64(b))
        fail("unsupported f64 instruction")
    if ty in ("u32", "s32", "b32", "u64", "s64", "b64"):
        bits = 8 * SIZE[ty]
        mask = (1 << bits) - 1
        if op == "add":
            return lambda a, b: (a + b) & mask
        if op == "sub":
            return lambda a, b: (a - b) & mask
        if op == "shl":
            return lambda a, b: (a << b) & mask if b < bits else 0
        if op == "mul" and mods[0] == "lo":
            return lambda a, b: (a * b) & mask
        if op == "mul" and mods[0] == "wide" and ty == "u32":
            return lambda a, b: a * b
        if op in ("div", "rem") and ty == "u32":
            def divrem(a, b):
                if b == 0:
                    raise SimError(f"integer division by zero: {ins.text!r}")
                return a // b if op == "div" else a % b
            return divrem
        if op == "shr" and ty == "s32":
            return lambda a, b: (s32(a) >> min(b, 31)) & M32
        if op == "shr" and bits == 32:
            return lambda a, b: a >> b if b < 32 else 0
        if op in ("and", "or", "xor") and bits == 32:
            return {"and": lambda a, b: a & b, "or": lambda a, b: a | b, "xor": lambda a, b: a ^ b}[op]
        fail("unsupported integer instruction")
    fail("unsupported instruction")


# ---------------------------------------------------------------- memory


class Global:
    """Device buffers at made-up, widely spaced addresses; each access must stay inside one
    buffer and use its element size (a wrong pointer or type shows as an error)."""

    def __init__(self):
        self.buffers = []  # (base, end, name, elem size, list of bit patterns)
        self.next = 0x10000000

    def add(self, name, size, values):
        base = self.next
        self.next += (len(values) * size + 0xFFFF) // 0x10000 * 0x10000 + 0x10000
        self.buffers.append((base, base + len(values) * size, name, size, values))
        return base

    def slot(self, addr, size):
        for base, end, name, esize, values in self.buffers:
            if base <= addr < end or (addr == base == end):
                if size != esize:
                    raise SimError(f"{size}-byte access to {name}, a buffer of {esize}-byte elements")
                if (addr - base) % size or addr + size > end:
                    raise SimError(f"misaligned or out-of-bounds access to {name} at byte {addr - base}")
                return values, (addr - base) // size
        raise SimError(f"global access to unmapped address {addr:#x}")


# ---------------------------------------------------------------- execution


class Block:
    def __init__(self, funcs, shared_syms, glob, params, shared_words, ctaid, ntid, nctaid):
        self.funcs, self.glob, self.params = funcs, glob, params
        # Garbage, as on a GPU, so that a read before any write shows in the results.
        self.shared = [0xA5A5A5A5] * shared_words
        self.specials = {"%ctaid.x": ctaid, "%ntid.x": ntid, "%nctaid.x": nctaid}
        self.specials.update(shared_syms)
        self.ntid, self.ctaid = ntid, ctaid
        self.instructions = self.barriers = 0
        self.writer, self.readers = {}, {}

    def run(self, entry):
        alive = []
        for t in range(self.ntid):
            regs = dict(self.specials)
            regs["%tid.x"] = t
            alive.append((t, self.execute(self.funcs[entry], regs, t)))
        while alive:
            stops, waiting = set(), []
            for t, gen in alive:
                try:
                    stops.add(next(gen))
                    waiting.append((t, gen))
                except StopIteration:
                    pass
            if waiting and len(waiting) != len(alive):
                raise SimError(f"block {self.ctaid}: some threads returned while others wait at a barrier")
            if len(stops) > 1:
                raise SimError(f"block {self.ctaid}: threads wait at different barriers: {sorted(stops)}")
            if waiting:
                self.barriers += 1
            self.writer, self.readers = {}, {}
            alive = waiting

    def execute(self, f, regs, tid):
        code, shared, writer, readers = f.code, self.shared, None, None
        n, pc = len(code), 0
        while pc < n:
            ins = code[pc]
            pc += 1
            self.instructions += 1
            if ins.guard is not None and regs[ins.guard] == ins.neg:
                continue
            kind = ins.kind
            if kind == ALU:
                regs[ins.dst] = ins.fn(*[regs[v] if r else v for r, v in ins.srcs])
            elif kind == LD_SHARED or kind == ST_SHARED:
                a = regs[ins.base] + ins.off
                if a % 4 or not 0 <= a < 4 * len(shared):
                    raise SimError(f"shared access at byte {a} outside 0..{4 * len(shared)} or misaligned: {ins.text!r}")
                w = a >> 2
                writer, readers = self.writer, self.readers
                wt = writer.get(w)
                if kind == LD_SHARED:
                    if wt is not None and wt != tid:
                        raise SimError(f"shared race: thread {tid} reads byte {a} written by thread {wt} since the last barrier: {ins.text!r}")
                    readers.setdefault(w, set()).add(tid)
                    regs[ins.dst] = shared[w]
                else:
                    if wt is not None and wt != tid:
                        raise SimError(f"shared race: threads {wt} and {tid} both write byte {a} between barriers: {ins.text!r}")
                    others = readers.get(w)
                    if others and (len(others) > 1 or tid not in others):
                        raise SimError(f"shared race: thread {tid} writes byte {a} read by thread {min(others - {tid})} since the last barrier: {ins.text!r}")
                    writer[w] = tid
                    r, v = ins.srcs[0]
                    shared[w] = regs[v] if r else v
            elif kind == LD_GLOBAL:
                values, i = self.glob.slot((regs[ins.base] + ins.off) & M64, ins.size)
                regs[ins.dst] = values[i]
            elif kind == ST_GLOBAL:
                values, i = self.glob.slot((regs[ins.base] + ins.off) & M64, ins.size)
                r, v = ins.srcs[0]
                values[i] = regs[v] if r else v
            elif kind == LD_PARAM:
                regs[ins.dst] = self.params[ins.base]
            elif kind == BRA:
                pc = ins.target
            elif kind == BAR:
                yield (f.name, pc)
            elif kind == CALL:
                frame = dict(self.specials)
                frame["%tid.x"] = tid
                for name, (r, v) in ins.args:
                    frame[name] = regs[v] if r else v
                yield from self.execute(ins.callee, frame, tid)
                for dst, name in ins.rets:
                    if name not in frame:
                        raise SimError(f"{ins.callee.name} returned without setting {name}")
                    regs[dst] = frame[name]
            elif kind == RET:
                return


def run_job(job):
    """Runs one launch (the job's entry, grid, block, shared_bytes and params) or, where the job
    has "launches", each of them in order on the same buffers (a host's stream of launches)."""
    funcs, shared_syms = parse_module(job["ptx"])
    glob, bases, buffers = Global(), {}, {}
    for name, b in job["buffers"].items():
        buffers[name] = list(b["bits"])
        bases[name] = glob.add(name, SIZE[b["type"]], buffers[name])
    instructions = barriers = 0
    for launch in job.get("launches") or [job]:
        entry = funcs.get(launch["entry"])
        if entry is None or not entry.is_entry:
            raise SimError(f"no entry point {launch['entry']}")
        if len(launch["params"]) != len(entry.params):
            raise SimError(f"{entry.name}: {len(launch['params'])} arguments for {len(entry.params)} parameters")
        params = {}
        for p, (_, ty, name) in zip(launch["params"], entry.params):
            kind = next(iter(p))
            want = {"ptr": "u64", "u32": "u32", "f32_bits": "f32"}.get(kind)
            if want != ty:
                raise SimError(f"{entry.name}: argument {p} passed for parameter {name} of type .{ty}")
            params[name] = (0 if p["ptr"] is None else bases[p["ptr"]]) if kind == "ptr" else p[kind]
        if launch["shared_bytes"] % 4:
            raise SimError("shared memory must be a whole number of 32-bit words")
        for c in range(launch["grid"]):
            blk = Block(funcs, shared_syms, glob, params, launch["shared_bytes"] // 4, c, launch["block"], launch["grid"])
            blk.run(entry.name)
            instructions += blk.instructions
            barriers += blk.barriers
    out = {name: buffers[name] for name in job["outputs"]}
    return {"buffers": out, "instructions": instructions, "barriers": barriers}


def main():
    job = json.load(sys.stdin)
    try:
        res = run_job(job)
    except SimError as e:
        print(f"ptxsim: {e}", file=sys.stderr)
        sys.exit(1)
    json.dump(res, sys.stdout)


if __name__ == "__main__":
    main()
