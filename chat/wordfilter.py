"""The per-room word filter: plain words, no regular expressions built from what owners type, so no input
can make matching slow (no catastrophic backtracking); the cost is linear in text × words."""

from collections.abc import Iterable

from streamlite.text import text_fold


def word_normalize(word: str) -> str:
    # NFKC (which composes like NFC, so Vietnamese typed with combining marks matches the precomposed form)
    # folds full-width and other compatibility forms; invisible characters go; casefold matches "ß"/"SS"
    # and other Unicode case pairs like ASCII ones.
    return text_fold(word).strip()


def words_parse(text: str) -> tuple[str, ...]:
    """The words of a room's blocked-word list: one per line, normalised, blanks and repeats dropped."""
    seen: dict[str, None] = {}
    for line in text.splitlines():
        word = word_normalize(line)
        if word:
            seen[word] = None
    return tuple(seen)


def text_blocked(text: str, words: Iterable[str]) -> bool:
    """True when ``text`` contains any of ``words`` (already normalised by ``words_parse``), ignoring case.
    A substring test rather than word boundaries: CJK text has no spaces between words."""
    haystack = word_normalize(text)
    return any(word and word in haystack for word in words)
