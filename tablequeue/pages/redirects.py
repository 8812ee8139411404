"""Where a page may send a browser after login or after a device key: a path on this site.

The check reads the target the way the browser will read the `Location` header (WHATWG URL
parsing), not the way the raw string looks: browsers strip leading and trailing control
characters and spaces, drop every tab and newline wherever it is, and treat `\\` as `/`.
So `/\t/evil.example` is `//evil.example` to a browser (another site, scheme-relative), and
so is `/\\evil.example`. The target is normalised first, then accepted only as an absolute
path (`/` then anything but `/` or `\\`), made of printable ASCII (a header value can carry
nothing else, and an unsafe one must never become a 500 after a session was issued)."""

from __future__ import annotations

import re

_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_C0_OR_SPACE = "".join(chr(c) for c in range(0x21))
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]*")


def local_target(target: str | None) -> str | None:
    """`target` as the browser would read it, if that is a path on this site; else None."""
    if not target:
        return None
    path = _TAB_OR_NEWLINE.sub("", target.strip(_C0_OR_SPACE))
    if not _PRINTABLE_ASCII.fullmatch(path) or "\\" in path:
        return None
    if not path.startswith("/") or path.startswith("//"):
        return None
    return path
