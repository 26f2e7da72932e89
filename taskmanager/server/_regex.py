"""A bounded backtracking matcher for the validator's ``pattern``, the way PHP's PCRE behaves.

Python's ``re`` has no step limit and holds the GIL for the whole match, so one hostile pattern
(``^(a+)+$`` against ``"a" * 30 + "!"``) would stop every thread of the server. PHP's
``preg_match`` gives up instead: past ``pcre.backtrack_limit`` (1,000,000) or
``pcre.recursion_limit`` (100,000) it returns ``false``, which the real validator reads as "does
not match". This matcher counts the same kind of work and gives up the same way; it is pure
Python, so other threads keep running while it works.

It matches UTF-8 bytes, as PCRE does without the ``u`` modifier (the validator counts lengths in
bytes too), and supports the PCRE syntax schemas use: literals and escapes, ``.``, classes with
ranges, negation and ``\\d \\w \\s`` (ASCII, as PCRE's C locale), anchors ``^ $ \\A \\z \\Z \\b
\\B``, groups (capturing, ``(?:``, named), alternation, greedy and lazy ``* + ? {n,m}``,
backreferences and lookahead/lookbehind (fixed length). What it does not support (inline options,
possessive quantifiers, atomic groups, ``\\p{..}`` properties, recursion, conditionals) and what
PCRE would reject makes the pattern match nothing.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["BACKTRACK_LIMIT", "DEPTH_LIMIT", "MAX_PROGRAM", "Budget", "search"]

BACKTRACK_LIMIT = 1_000_000  # PHP's pcre.backtrack_limit default
DEPTH_LIMIT = 100_000  # PHP's pcre.recursion_limit default: pending backtrack points
MAX_PROGRAM = _MAX_PROGRAM = 20_000  # instructions of one compiled pattern (counted repeats are unrolled)
_MAX_REPEAT = 65_535  # PCRE's largest {n,m}

# Opcodes
_CHAR, _SET, _SPLIT, _JMP, _SAVE, _ASSERT, _BACKREF, _LOOK, _MARK, _PROGRESS, _MATCH = range(11)
_BOL, _EOL, _START, _END, _END_NL, _WORDB, _NWORDB = range(7)

_DIGIT = frozenset(b"0123456789")
_WORD = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_SPACE = frozenset(b" \t\n\v\f\r")
_ALL = frozenset(range(256))
_NOT_NEWLINE = _ALL - {10}
_CLASS_ESCAPES = {
    ord("d"): _DIGIT,
    ord("D"): _ALL - _DIGIT,
    ord("w"): _WORD,
    ord("W"): _ALL - _WORD,
    ord("s"): _SPACE,
    ord("S"): _ALL - _SPACE,
}
_CHAR_ESCAPES = {
    ord("n"): 10,
    ord("r"): 13,
    ord("t"): 9,
    ord("f"): 12,
    ord("v"): 11,
    ord("e"): 27,
    ord("a"): 7,
}
_ANCHOR_ESCAPES = {ord("A"): _START, ord("z"): _END, ord("Z"): _END_NL, ord("b"): _WORDB, ord("B"): _NWORDB}


_Node = tuple[Any, ...]  # a parsed node, or a compiled instruction


class _Invalid(Exception):
    """PCRE would reject the pattern, or this matcher does not support it: it matches nothing."""


class GaveUp(Exception):
    """The match went past a limit: PHP's preg_match returns false here."""


class Budget:
    """Backtrack points left for one match (PCRE's match limit)."""

    __slots__ = ("left",)

    def __init__(self, steps: int = BACKTRACK_LIMIT) -> None:
        self.left = steps


# -- parsing: bytes -> tree ----------------------------------------------------------------------
# Nodes: ("set", frozenset) | ("cat", [nodes]) | ("alt", [nodes]) | ("rep", node, min, max|None, lazy)
#        ("group", index|None, node) | ("assert", kind) | ("backref", n) | ("look", node, negate, behind)


class _Parser:
    def __init__(self, pattern: bytes) -> None:
        self.p = pattern
        self.i = 0
        self.groups = 0

    def peek(self) -> int | None:
        return self.p[self.i] if self.i < len(self.p) else None

    def take(self) -> int:
        if self.i >= len(self.p):
            raise _Invalid("unexpected end")
        c = self.p[self.i]
        self.i += 1
        return c

    def parse(self) -> _Node:
        node = self.alternation()
        if self.i != len(self.p):
            raise _Invalid("unmatched )")
        return node

    def alternation(self) -> _Node:
        branches = [self.sequence()]
        while self.peek() == ord("|"):
            self.i += 1
            branches.append(self.sequence())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def sequence(self) -> _Node:
        items: list[_Node] = []
        while (c := self.peek()) is not None and c not in b"|)":
            atom = self.atom()
            items.append(self.quantified(atom))
        return ("cat", items)

    def quantified(self, atom: _Node) -> _Node:
        c = self.peek()
        if c is None:
            return atom
        if c in b"*+?":
            self.i += 1
            low, high = {ord("*"): (0, None), ord("+"): (1, None), ord("?"): (0, 1)}[c]
        elif c == ord("{"):
            bounds = self.repeat_bounds()
            if bounds is None:
                return atom  # not a quantifier: "{" is a literal, read by the next atom()
            low, high = bounds
        else:
            return atom
        if atom[0] in ("assert", "look"):
            raise _Invalid("quantified assertion")
        lazy = False
        if self.peek() == ord("?"):
            self.i += 1
            lazy = True
        elif self.peek() == ord("+"):
            raise _Invalid("possessive quantifiers are not supported")
        if (nxt := self.peek()) is not None and nxt in b"*+?":
            raise _Invalid("nothing to repeat")
        return ("rep", atom, low, high, lazy)

    def repeat_bounds(self) -> tuple[int, int | None] | None:
        end = self.p.find(b"}", self.i)
        if end < 0:
            return None
        body = self.p[self.i + 1 : end].decode("latin-1")
        low_text, comma, high_text = body.partition(",")
        if not low_text.isdigit() or (high_text and not high_text.isdigit()):
            return None
        low = int(low_text)
        high = (int(high_text) if high_text else None) if comma else low
        if low > _MAX_REPEAT or (high is not None and (high > _MAX_REPEAT or high < low)):
            raise _Invalid("bad repeat")
        self.i = end + 1
        return low, high

    def atom(self) -> _Node:
        c = self.take()
        if c == ord("("):
            return self.group()
        if c == ord("["):
            return ("set", self.char_class())
        if c == ord("."):
            return ("set", _NOT_NEWLINE)
        if c == ord("^"):
            return ("assert", _BOL)
        if c == ord("$"):
            return ("assert", _EOL)
        if c == ord("\\"):
            return self.escape()
        if c in b"*+?":
            raise _Invalid("nothing to repeat")
        return ("set", frozenset((c,)))

    def group(self) -> _Node:
        index: int | None = None
        kind = None
        if self.peek() == ord("?"):
            self.i += 1
            c = self.take()
            if c == ord(":"):
                kind = "plain"
            elif c in b"=!":
                kind = "ahead" + chr(c)
            elif c == ord("<") and self.peek() in (ord("="), ord("!")):
                kind = "behind" + chr(self.take())
            elif (c == ord("P") and self.peek() == ord("<")) or c in b"<'":
                if c == ord("P"):
                    self.i += 1
                close = ord(">") if c != ord("'") else ord("'")
                end = self.p.find(bytes((close,)), self.i)
                name = self.p[self.i : end] if end >= 0 else b""
                if not name or not all(ch in _WORD for ch in name) or name[0] in _DIGIT:
                    raise _Invalid("bad group name")
                self.i = end + 1
                kind = "capture"
            else:
                raise _Invalid("unsupported group")
        if kind is None or kind == "capture":
            self.groups += 1
            index = self.groups
        node = self.alternation()
        if self.take() != ord(")"):
            raise _Invalid("missing )")
        if kind is not None and kind.startswith(("ahead", "behind")):
            behind = kind.startswith("behind")
            if behind and _width(node) is None:
                raise _Invalid("lookbehind is not fixed length")
            return ("look", node, kind.endswith("!"), behind)
        return ("group", index, node)

    def escape(self) -> _Node:
        c = self.take()
        if c in _CLASS_ESCAPES:
            return ("set", _CLASS_ESCAPES[c])
        if c in _ANCHOR_ESCAPES:
            return ("assert", _ANCHOR_ESCAPES[c])
        if c in b"123456789":
            number = c - 48
            while (d := self.peek()) is not None and d in _DIGIT and number * 10 + d - 48 <= self.groups:
                self.i += 1
                number = number * 10 + d - 48
            return ("backref", number)
        return ("set", frozenset((self.escaped_byte(c),)))

    def escaped_byte(self, c: int) -> int:
        if c in _CHAR_ESCAPES:
            return _CHAR_ESCAPES[c]
        if c == ord("0"):
            digits = 0
            value = 0
            while digits < 2 and (d := self.peek()) is not None and d in b"01234567":
                self.i += 1
                digits += 1
                value = value * 8 + d - 48
            return value
        if c == ord("x"):
            if self.peek() == ord("{"):
                end = self.p.find(b"}", self.i)
                text = self.p[self.i + 1 : end].decode("latin-1") if end > 0 else ""
                self.i = end + 1
            else:
                text = ""
                while len(text) < 2 and (d := self.peek()) is not None and chr(d) in "0123456789abcdefABCDEF":
                    self.i += 1
                    text += chr(d)
            try:
                value = int(text or "0", 16)
            except ValueError:
                raise _Invalid("bad \\x") from None
            if value > 255:
                raise _Invalid("character code too large without the u modifier")
            return value
        if c in _WORD:
            raise _Invalid("unrecognized escape")  # PCRE2 rejects unknown letter escapes
        return c

    def char_class(self) -> frozenset[int]:
        negate = self.peek() == ord("^")
        if negate:
            self.i += 1
        members: set[int] = set()
        first = True
        while True:
            c = self.take()
            if c == ord("]") and not first:
                break
            first = False
            if c == ord("[") and self.p.startswith(b":", self.i):
                raise _Invalid("POSIX classes are not supported")
            if c == ord("\\"):
                e = self.take()
                if e in _CLASS_ESCAPES:
                    members |= _CLASS_ESCAPES[e]
                    continue
                low = 8 if e == ord("b") else self.escaped_byte(e)
            else:
                low = c
            if self.peek() == ord("-") and self.i + 1 < len(self.p) and self.p[self.i + 1] != ord("]"):
                self.i += 1
                h = self.take()
                if h == ord("\\"):
                    e = self.take()
                    if e in _CLASS_ESCAPES:
                        raise _Invalid("range to a class")
                    h = self.escaped_byte(e)
                if h < low:
                    raise _Invalid("range out of order")
                members.update(range(low, h + 1))
            else:
                members.add(low)
        return frozenset(_ALL - members if negate else members)


def _width(node: _Node) -> int | None:
    """The fixed length of what a node matches, or None if it varies."""
    kind = node[0]
    if kind == "set":
        return 1
    if kind in ("assert", "look"):
        return 0
    if kind == "cat":
        total = 0
        for item in node[1]:
            width = _width(item)
            if width is None:
                return None
            total += width
        return total
    if kind == "alt":
        widths = {_width(item) for item in node[1]}
        return widths.pop() if len(widths) == 1 else None
    if kind == "group":
        return _width(node[2])
    if kind == "rep" and node[2] == node[3]:
        inner = _width(node[1])
        return None if inner is None else inner * int(node[2])
    return None


def _can_be_empty(node: _Node) -> bool:
    kind = node[0]
    if kind == "set":
        return False
    if kind == "cat":
        return all(_can_be_empty(item) for item in node[1])
    if kind == "alt":
        return any(_can_be_empty(item) for item in node[1])
    if kind == "group":
        return _can_be_empty(node[2])
    if kind == "rep":
        return node[2] == 0 or _can_be_empty(node[1])
    return True  # assertions, backreferences


# -- compiling: tree -> program ------------------------------------------------------------------


class _Compiler:
    def __init__(self) -> None:
        self.code: list[list[Any]] = []
        self.marks = 0

    def emit(self, *ins: object) -> int:
        if len(self.code) >= _MAX_PROGRAM:
            raise _Invalid("pattern too large")
        self.code.append(list(ins))
        return len(self.code) - 1

    def node(self, node: _Node) -> None:
        kind = node[0]
        if kind == "set":
            members = node[1]
            if len(members) == 1:
                self.emit(_CHAR, next(iter(members)))
            else:
                self.emit(_SET, members)
        elif kind == "cat":
            for item in node[1]:
                self.node(item)
        elif kind == "alt":
            branches = node[1]
            jumps = []
            for branch in branches[:-1]:
                split = self.emit(_SPLIT, 0, 0)
                self.code[split][1] = len(self.code)
                self.node(branch)
                jumps.append(self.emit(_JMP, 0))
                self.code[split][2] = len(self.code)
            self.node(branches[-1])
            for jump in jumps:
                self.code[jump][1] = len(self.code)
        elif kind == "group":
            index, inner = node[1], node[2]
            if index is not None:
                self.emit(_SAVE, 2 * int(index))
            self.node(inner)
            if index is not None:
                self.emit(_SAVE, 2 * int(index) + 1)
        elif kind == "assert":
            self.emit(_ASSERT, node[1])
        elif kind == "backref":
            self.emit(_BACKREF, node[1])
        elif kind == "look":
            sub = _Compiler()
            sub.marks = self.marks
            sub.node(node[1])
            sub.emit(_MATCH)
            self.marks = sub.marks
            width = _width(node[1]) if node[3] else None
            self.emit(_LOOK, [tuple(i) for i in sub.code], node[2], width)
        elif kind == "rep":
            self.repeat(node[1], int(node[2]), node[3], bool(node[4]))

    def repeat(self, atom: _Node, low: int, high: int | None, lazy: bool) -> None:
        for _ in range(low):
            self.node(atom)
        if high is None:
            guard = _can_be_empty(atom)
            mark = self.marks
            if guard:
                self.marks += 1
            loop = self.emit(_SPLIT, 0, 0)
            body = len(self.code)
            if guard:
                self.emit(_MARK, mark)
            self.node(atom)
            if guard:
                self.emit(_PROGRESS, mark)
            self.emit(_JMP, loop)
            self._branch(loop, body, len(self.code), lazy)
            return
        exits = []
        for _ in range(high - low):
            split = self.emit(_SPLIT, 0, 0)
            exits.append(split)
            self.node(atom)
        end = len(self.code)
        for split in exits:
            self._branch(split, split + 1, end, lazy)

    def _branch(self, split: int, body: int, out: int, lazy: bool) -> None:
        self.code[split][1:] = [out, body] if lazy else [body, out]


@lru_cache(maxsize=256)
def _compile(pattern: str) -> tuple[tuple[_Node, ...], int, bool] | None:
    """(program, capture groups, anchored at the start), or None where nothing can match."""
    try:
        parser = _Parser(pattern.encode("utf-8"))
        tree = parser.parse()
        compiler = _Compiler()
        compiler.node(tree)
        compiler.emit(_MATCH)
    except (_Invalid, RecursionError):
        return None
    program = tuple(tuple(ins) for ins in compiler.code)
    anchored = bool(program) and program[0][0] == _ASSERT and program[0][1] in (_BOL, _START)
    return program, parser.groups, anchored


# -- running -------------------------------------------------------------------------------------


def _is_word(text: bytes, pos: int) -> bool:
    return 0 <= pos < len(text) and text[pos] in _WORD


def _run(
    program: tuple[_Node, ...],
    text: bytes,
    start: int,
    caps: list[int],
    marks: dict[int, int],
    budget: Budget,
) -> int:
    """Match at ``start``; the end position, or -1. Raises GaveUp past a limit."""
    stack: list[tuple[int, int, int, int]] = []  # (pc, pos, undo slot, old value); slot -1: a branch
    pc, pos = 0, start
    size = len(text)
    while True:
        ins = program[pc]
        op = ins[0]
        ok = True
        if op == _CHAR:
            if pos < size and text[pos] == ins[1]:
                pos += 1
                pc += 1
            else:
                ok = False
        elif op == _SET:
            if pos < size and text[pos] in ins[1]:
                pos += 1
                pc += 1
            else:
                ok = False
        elif op == _SPLIT:
            budget.left -= 1
            if budget.left < 0 or len(stack) >= DEPTH_LIMIT:
                raise GaveUp
            stack.append((ins[2], pos, -1, 0))
            pc = ins[1]
        elif op == _JMP:
            pc = ins[1]
        elif op == _SAVE:
            slot = ins[1]
            stack.append((0, 0, slot, caps[slot]))
            caps[slot] = pos
            pc += 1
        elif op == _MARK:
            slot = ins[1]
            stack.append((0, 0, -2 - slot, marks.get(slot, -1)))
            marks[slot] = pos
            pc += 1
        elif op == _PROGRESS:
            if marks.get(ins[1], -1) == pos:
                ok = False  # an empty iteration: stop looping
            else:
                pc += 1
        elif op == _ASSERT:
            kind = ins[1]
            if kind in (_BOL, _START):
                ok = pos == 0
            elif kind in (_EOL, _END_NL):
                ok = pos == size or (pos == size - 1 and text[pos] == 10)
            elif kind == _END:
                ok = pos == size
            else:
                boundary = _is_word(text, pos - 1) != _is_word(text, pos)
                ok = boundary if kind == _WORDB else not boundary
            if ok:
                pc += 1
        elif op == _BACKREF:
            group = int(ins[1])
            begin, end = (caps[2 * group], caps[2 * group + 1]) if 2 * group + 1 < len(caps) else (-1, -1)
            if begin < 0 or end < 0:
                ok = False  # PCRE: a reference to an unset group fails
            else:
                length = end - begin
                if text[pos : pos + length] == text[begin:end]:
                    pos += length
                    pc += 1
                else:
                    ok = False
        elif op == _LOOK:
            sub, negate, width = ins[1], ins[2], ins[3]
            at = pos if width is None else pos - int(width)
            found = at >= 0 and _run(sub, text, at, caps, marks, budget) >= 0
            if found != bool(negate):
                pc += 1
            else:
                ok = False
        else:  # _MATCH
            return pos
        if ok:
            continue
        while True:  # backtrack: undo saves until the last branch point
            if not stack:
                return -1
            target, at, slot, old = stack.pop()
            if slot == -1:
                pc, pos = target, at
                break
            if slot >= 0:
                caps[slot] = old
            else:
                marks[-2 - slot] = old


def search(pattern: str, value: str, budget: Budget | None = None) -> bool:
    """Whether ``pattern`` matches somewhere in ``value``, as PHP's preg_match sees it.

    An invalid or unsupported pattern matches nothing; past the limits raises :class:`GaveUp`
    (preg_match's ``false``).
    """
    compiled = _compile(pattern)
    if compiled is None:
        return False
    program, groups, anchored = compiled
    text = value.encode("utf-8", "surrogatepass")
    budget = budget if budget is not None else Budget()
    for start in range(1 if anchored else len(text) + 1):
        budget.left -= 1
        if budget.left < 0:
            raise GaveUp
        if _run(program, text, start, [-1] * (2 * groups + 2), {}, budget) >= 0:
            return True
    return False
