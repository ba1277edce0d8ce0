"""Venue logo uploads: checked for size and type, decoded safely, resized.

Accepted: PNG, JPEG, WebP and GIF (first frame). Refused with a message the
venue manager can act on: files over MAX_UPLOAD_BYTES, anything that is not a
raster image (SVG is refused outright — it can carry scripts), images whose
pixel count could be a decompression bomb. What is stored is a re-encoded
copy at most MAX_SIZE pixels (PNG when it has transparency, else JPEG), so no
metadata or trailing bytes of the upload ever reach a guest's phone.
"""

from __future__ import annotations

import io
import logging
import re
import warnings

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 25_000_000  # decoded size guard, checked before decoding
MAX_SIZE = (480, 240)  # twice the CSS size on the guest page
FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}

_SVG = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*(<!DOCTYPE[^>]*>\s*)?<svg", re.I | re.S)
_SCRIPT = re.compile(rb"<script|javascript:|\son[a-z]+\s*=", re.I)


class LogoError(ValueError):
    """An upload that cannot be a logo; str() is the message for the user."""


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


def check_size(size: int) -> None:
    if size > MAX_UPLOAD_BYTES:
        raise LogoError(
            _(
                "The logo file is %(size)s MB; the most is %(max)s MB.",
                size=_megabytes(size),
                max=_megabytes(MAX_UPLOAD_BYTES),
            )
        )


def process_logo(data: bytes) -> tuple[bytes, str]:
    """Check an uploaded logo; return (re-encoded bytes, MIME type) or raise LogoError."""
    check_size(len(data))
    if not data:
        raise LogoError(_("The logo file is empty."))
    head = data[:4096]
    if _SVG.match(head) or b"<svg" in head.lower():
        if _SCRIPT.search(data):
            raise LogoError(_("This SVG contains a script, which is not allowed. Upload a PNG."))
        raise LogoError(_("SVG logos are not accepted; upload a PNG, JPEG or WebP file."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in FORMATS:
                raise LogoError(
                    _("This file type is not accepted; upload a PNG, JPEG or WebP file.")
                )
            width, height = image.size
            if width * height > MAX_PIXELS or width < 1 or height < 1:
                raise LogoError(
                    _(
                        "The image is %(w)d×%(h)d pixels, too large to process; "
                        "upload one under 5000×5000.",
                        w=width,
                        h=height,
                    )
                )
            image.seek(0)
            image.load()
    except LogoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise LogoError(_("The image is too large to process; upload a smaller one.")) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        log.info("logo upload refused: %s", exc)
        raise LogoError(
            _("This file is not an image we can read; upload a PNG, JPEG or WebP file.")
        ) from exc
    upright: Image.Image = ImageOps.exif_transpose(image) or image
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or (
        upright.mode == "P" and "transparency" in upright.info
    )
    small = upright.convert("RGBA" if has_alpha else "RGB")
    small.thumbnail(MAX_SIZE, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if has_alpha:
        small.save(out, "PNG", optimize=True)
        return out.getvalue(), "image/png"
    small.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue(), "image/jpeg"
