"""Logo uploads: size, type, scripts and decompression bombs are refused; good ones shrink."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from porchlight.admin.locations.logo import MAX_SIZE, LogoError, process_logo


def png(width: int, height: int, mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (200, 30, 30, 128) if mode == "RGBA" else (200, 30, 30)).save(
        out, "PNG"
    )
    return out.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A tiny file whose header claims a huge image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IEND", b"")


def test_fifty_megabytes_is_refused_with_the_size() -> None:
    with pytest.raises(LogoError, match=r"50\.0 MB.*2\.0 MB"):
        process_logo(b"\x89PNG" + b"\0" * (50 * 1024 * 1024))


def test_a_file_that_is_not_an_image_is_refused() -> None:
    with pytest.raises(LogoError, match="not an image"):
        process_logo(b"%PDF-1.7\n" + b"x" * 1000)


def test_svg_with_script_is_refused_and_says_why() -> None:
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    with pytest.raises(LogoError, match="script"):
        process_logo(svg)


def test_plain_svg_is_refused_too() -> None:
    with pytest.raises(LogoError, match="SVG"):
        process_logo(b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="9" height="9"/></svg>')


def test_decompression_bomb_is_refused_before_decoding() -> None:
    with pytest.raises(LogoError, match="too large"):
        process_logo(bomb_png(60000, 60000))


def test_a_big_logo_is_resized_and_keeps_transparency() -> None:
    data, mime = process_logo(png(2000, 1000))
    assert mime == "image/png"
    image = Image.open(io.BytesIO(data))
    assert image.size == MAX_SIZE
    assert image.mode == "RGBA"


def test_an_opaque_photo_becomes_a_small_jpeg_without_metadata() -> None:
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    Image.new("RGB", (1200, 1200), (10, 120, 90)).save(out, "JPEG", exif=exif)
    data, mime = process_logo(out.getvalue())
    assert mime == "image/jpeg"
    assert b"SecretCam" not in data
    assert Image.open(io.BytesIO(data)).size == (240, 240)
