"""Category labels that fit under their bar: wrapped onto lines by width (CJK text between any two
characters, other text at spaces), the last line cut with an ellipsis when the text runs over."""

from __future__ import annotations

import unicodedata

ELLIPSIS = "…"


def char_width(char: str, size: float) -> float:
    """An estimate of a character's width at a font size: CJK is square, Latin about half."""
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return size
    if char in "iljtf.,:;'|!() ":
        return size * 0.32
    if char.isupper() or char in "mwMW@%":
        return size * 0.72
    return size * 0.56


def text_width(text: str, size: float = 11) -> float:
    return sum(char_width(c, size) for c in text)


def _tokens(text: str) -> list[str]:
    """Words with their trailing space, and each wide (CJK) character on its own."""
    tokens: list[str] = []
    word = ""
    for char in text:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            if word:
                tokens.append(word)
                word = ""
            tokens.append(char)
        elif char.isspace():
            word += " "
            tokens.append(word)
            word = ""
        else:
            word += char
    if word:
        tokens.append(word)
    return tokens


def words(text: str) -> list[str]:
    """The pieces a label may not be broken inside (a CJK character is a piece of its own)."""
    return [t.strip() for t in _tokens(" ".join(text.split())) if t.strip()]


def _cut(text: str, width: float, size: float) -> str:
    """`text` shortened to fit `width` with an ellipsis at its end."""
    room = width - char_width(ELLIPSIS, size)
    out = ""
    for char in text:
        if text_width(out + char, size) > room:
            break
        out += char
    return out.rstrip() + ELLIPSIS


def wrap(text: str, width: float, lines: int = 2, size: float = 11) -> tuple[list[str], bool]:
    """The label as at most `lines` lines of at most `width` px; True when it had to be cut."""
    text = " ".join(text.split())
    out: list[str] = []
    line = ""
    for token in _tokens(text):
        if text_width((line + token).rstrip(), size) <= width:
            line += token
            continue
        if line:
            out.append(line.rstrip())
            line = ""
        while text_width(token.rstrip(), size) > width:  # a word longer than the line: split it
            head = ""
            for char in token:
                if text_width(head + char, size) > width:
                    break
                head += char
            head = head or token[0]
            out.append(head)
            token = token[len(head):]
        line = token
    if line.strip():
        out.append(line.rstrip())
    if len(out) <= lines:
        return out, False
    rest = " ".join(out[lines - 1:]) if not _wide(out[lines - 1]) else "".join(out[lines - 1:])
    return [*out[: lines - 1], _cut(rest, width, size)], True


def _wide(text: str) -> bool:
    return any(unicodedata.east_asian_width(c) in ("W", "F") for c in text)
