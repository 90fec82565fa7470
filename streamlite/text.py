"""Text compared the way people read it: the word filter and user names look through compatibility forms
(full-width ｓｐａｍ, ligatures) and characters nobody sees (zero-width spaces and joiners, soft hyphens),
which otherwise slip a blocked word or a look-alike name past an exact comparison."""

import re
import unicodedata

# Zero-width space, non-joiner, joiner, word joiner, BOM / zero-width no-break space, soft hyphen, and the
# invisible operators and Mongolian vowel separator.
INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u2061-\u2064\u180e]")


def text_fold(text: str) -> str:
    """NFKC, invisible characters removed, case folded: the form blocked words and names are compared in."""
    return INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def text_visible(text: str) -> str:
    """``text`` without the invisible characters (and surrounding white space): empty when nothing shows."""
    return INVISIBLE.sub("", text).strip()
