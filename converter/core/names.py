"""Names from the data that become file names: one rule, whatever input they come from.

Categories and image ids come from the release (member names, split lists), from the rows of
an export or of its Hub repository, and become folders and files of every output: preprocess
writes `images/<category>_<split>/<name>.JPEG`, visualize `OUT/<category>/<name>.png`, each
first under a temporary name (`converter.core.files`). So each must be one plain name on every
system, and the longest file made of two of them must still fit in one path component.
"""

from __future__ import annotations

import re
import unicodedata

from converter.core.errors import described

# What one path component may hold on Linux, macOS and Windows file systems, in bytes (ext4,
# APFS and NTFS's 255 UTF-16 units all allow at least 255 bytes of UTF-8).
MAX_COMPONENT_BYTES = 255
# One category or image id. The longest file written is the temporary name of a qualified
# example, `.<category>_<image_id>_<k>.JPEG.<8 hex>.partial` with k below 2**20 (7 digits):
# 2 * 100 + 34 bytes, within the 255 above.
MAX_NAME_BYTES = 100
_UNSAFE_CHARACTER = re.compile(r'[/\\<>:"|?*]')
# Unicode's control, format (bidirectional overrides), surrogate, private-use and unassigned
# characters, and its line and paragraph separators: none belongs in a file name or on a terminal.
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def control_character(text: str) -> str | None:
    """The first character of `text` that is a Unicode control character (any in
    `_CONTROL_CATEGORIES`, C1 controls such as U+0085 and U+009B included), or None."""
    if text.isprintable():  # every character outside Unicode's C and Z categories, or a space
        return None
    return next((c for c in text if unicodedata.category(c) in _CONTROL_CATEGORIES), None)


def unsafe_name(name: str, kind: str = "image id", max_bytes: int = MAX_NAME_BYTES) -> str | None:
    """Why `name`, a category or image id, cannot be a file name in the outputs, or None."""
    size = len(name.encode("utf-8", "surrogatepass"))
    unsafe = _UNSAFE_CHARACTER.search(name)
    control = control_character(name)
    if not name or size > max_bytes:
        why = f"it is {size} bytes in UTF-8, not 1 to {max_bytes}"
    elif name.startswith("."):
        why = "it starts with '.'"
    elif unsafe:
        why = f"it holds {unsafe.group()!r}"
    elif control:
        why = f"it holds the control character U+{ord(control):04X}"
    else:
        return None
    return f"the {kind} {described(name)} cannot be a file name: {why}"


def folded(name: str) -> str:
    """The form under which case-insensitive file systems (macOS, Windows) compare names:
    case folded, composed (NFC), so `Car` and `car`, or `é` and `e` + U+0301, are one file."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def example_stem(image_id: str, category: str | None = None) -> str:
    """What an object's example name starts with: the image id, or `<category>_<image_id>` for
    a photo that more than one category holds, whose objects would otherwise share names."""
    return image_id if category is None else f"{category}_{image_id}"


def example_name(image_id: str, index: int, category: str | None = None) -> str:
    """`<image_id>_<k:02d>` as the public tool names it, or `<category>_<image_id>_<k:02d>`."""
    return f"{example_stem(image_id, category)}_{index:02d}"
