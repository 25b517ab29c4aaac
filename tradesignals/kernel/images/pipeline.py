"""The bounded decode/re-encode of an uploaded image: the only way bytes from a client become a stored image.

An upload is judged by its content alone (never its name or declared type): it must be a complete JPEG, PNG,
WebP or GIF and nothing else, so a file that is also HTML, script or an archive (a polyglot) never reaches the
store. The pixel limit is checked from the header, before any pixel is decoded, because the header is all a
decompression bomb needs to be honest about; Pillow's own process-wide limit stays a second fence only.

Every accepted image is decoded and encoded again, which is what strips what a client smuggles or leaks:
EXIF (GPS position, camera serials), XMP, comments, text chunks and any bytes hidden inside the container.
The EXIF orientation is applied to the pixels first, so the stored image is upright with no tag to obey.
An ICC colour profile is colour data, not metadata: it is kept when it describes the colour space of the
output, so wide-gamut phone photos keep their colours; a CMYK image is converted to sRGB through its profile.

GIF becomes PNG (its first frame only: an animation is neither decoded nor stored), JPEG (also the
multi-picture JPEG phones write, first picture) stays JPEG, PNG stays PNG and WebP stays WebP. The thumbnail
is always WebP, which every browser shows and which keeps alpha at a small size.

Only ``ImageRefused`` ever leaves ``process`` for a bad input: whatever Pillow raises on hostile bytes is a
refusal with a reason the client can act on.
"""
from __future__ import annotations

import io
import logging
import re
import struct
from dataclasses import dataclass

from PIL import Image, ImageCms

from tradesignals.kernel.errors import ValidationFailed

logger = logging.getLogger(__name__)

NOT_AN_IMAGE = "The file is not a JPEG, PNG, WebP or GIF image."
EMPTY = "The file is empty."
CORRUPT = "The image is truncated or corrupt."
TRAILING_DATA = "The file holds data after the end of the image."
TOO_LARGE_FOR_WEBP = "The image is too large to be stored as WebP (at most 16383 pixels on a side)."

FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
_OUTPUT = {  # source format -> (Pillow format, content type, extension)
    "JPEG": ("JPEG", "image/jpeg", "jpg"),
    "PNG": ("PNG", "image/png", "png"),
    "GIF": ("PNG", "image/png", "png"),
    "WEBP": ("WEBP", "image/webp", "webp"),
}
QUALITY = 85
WEBP_MAX_SIDE = 16383
THUMBNAIL_PIXELS = 1024 * 1024
# Chunk and block counts far above any real encoder's; they bound the work a file of tiny chunks can cause.
_MAX_PNG_CHUNKS = 20_000
_MAX_JPEG_SEGMENTS = 2_000  # markers outside the scans (APPn, COM, tables)
_MAX_GIF_SUB_BLOCKS = 100_000  # encoders write 255-byte blocks: a 5 MiB GIF holds about 20 000
_MAX_MPO_PICTURES = 16
_MAX_JPEG_SCANS = 100  # a progressive file of thousands of tiny scans costs the decoder seconds for each

_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]")
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, TypeError, KeyError, IndexError, struct.error, EOFError,
                  ZeroDivisionError, OverflowError, MemoryError, AttributeError, RuntimeError,
                  Image.DecompressionBombError, Image.DecompressionBombWarning)


class ImageRefused(ValidationFailed):
    """An upload that is not an image the product stores; the reason is shown to the client as is."""

    def __init__(self, reason: str):
        super().__init__(reason, details={"image": [reason]})
        self.reason = reason


@dataclass(frozen=True)
class Rendition:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


@dataclass(frozen=True)
class ProcessedImage:
    image: Rendition
    thumbnail: Rendition
    source_format: str


def too_many_pixels(width: int, height: int, max_pixels: int) -> str:
    return f"The image is {width}×{height} pixels; at most {max_pixels:,} pixels are allowed."


def process(data: bytes, *, max_pixels: int, thumbnail_width: int = 480, square: bool = False) -> ProcessedImage:
    """Decode ``data``, refuse it with a reason or return it re-encoded with its WebP thumbnail."""
    if not data:
        raise ImageRefused(EMPTY)
    try:
        return _process(bytes(data), max_pixels, thumbnail_width, square)
    except ImageRefused:
        raise
    except Image.DecompressionBombError:
        raise ImageRefused(f"The image has too many pixels; at most {max_pixels:,} pixels are allowed.") from None
    except _PILLOW_ERRORS:
        raise ImageRefused(CORRUPT) from None
    except Exception:  # a decoder failing in a way not seen yet is still a damaged upload, never a 500
        logger.warning("image decoding failed unexpectedly", exc_info=True)
        raise ImageRefused(CORRUPT) from None


def _signature_format(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _process(data: bytes, max_pixels: int, thumbnail_width: int, square: bool) -> ProcessedImage:
    # The container is walked, with tight caps, before Pillow parses it: Pillow's own parsing of a file of a
    # million tiny markers or chunks costs seconds before any check of ours would run.
    claimed = _signature_format(data)
    if claimed is not None:
        _check_container(data, claimed, pictures=_MAX_MPO_PICTURES)
    try:
        opened = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.UnidentifiedImageError:
        raise ImageRefused(CORRUPT if _has_signature(data) else NOT_AN_IMAGE) from None
    with opened as im:
        source = "JPEG" if im.format == "MPO" else im.format
        if source not in _OUTPUT:
            raise ImageRefused(NOT_AN_IMAGE)
        _check_size(im.size, max_pixels)
        _check_container(data, source, pictures=getattr(im, "n_frames", 1) if im.format == "MPO" else 1)
        im.load()  # the first frame or picture only; the others are never decoded
        _check_size(im.size, max_pixels)
        icc = im.info.get("icc_profile")
        upright = _upright(im)
        out_format, content_type, extension = _OUTPUT[source]
        full = _for_output(upright, out_format, icc)
        thumb = _thumbnail(full if out_format == "WEBP" else _for_output(upright, "WEBP", icc), thumbnail_width,
                           square)
        image = _encode(full, out_format, content_type, extension, _kept_profile(full, icc))
        thumbnail = _encode(thumb, "WEBP", "image/webp", "webp", _kept_profile(thumb, icc))
    return ProcessedImage(image=image, thumbnail=thumbnail, source_format=source)


def _has_signature(data: bytes) -> bool:
    """Whether the file starts as an accepted format does (so a refusal can say it is damaged, not foreign)."""
    return (data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a"))
            or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"))


def _check_size(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageRefused(CORRUPT)
    if width * height > max_pixels:
        raise ImageRefused(too_many_pixels(width, height, max_pixels))


# --- the container: complete, and nothing after its end ------------------------------------------------------

def _check_container(data: bytes, source: str, *, pictures: int) -> None:
    """Walk the file's structure (no decoding) to its end marker; refuse a cut file or bytes after the end."""
    if source == "JPEG":
        end = 0
        for _ in range(max(1, min(pictures, _MAX_MPO_PICTURES))):
            if data[end:end + 2] != b"\xff\xd8":
                break
            end = _jpeg_end(data, end)
    elif source == "PNG":
        end = _png_end(data)
    elif source == "GIF":
        end = _gif_end(data)
    else:
        end = _webp_end(data)
    if data[end:].strip(b"\x00"):
        raise ImageRefused(TRAILING_DATA)


def _jpeg_end(data: bytes, pos: int) -> int:
    pos += 2  # SOI
    size, scans, segments = len(data), 0, 0
    while True:
        segments += 1
        if segments > _MAX_JPEG_SEGMENTS + _MAX_JPEG_SCANS:
            raise ImageRefused(CORRUPT)
        if pos >= size or data[pos] != 0xFF:
            raise ImageRefused(CORRUPT)
        while pos < size and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= size:
            raise ImageRefused(CORRUPT)
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI
            return pos
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue
        if pos + 2 > size:
            raise ImageRefused(CORRUPT)
        length = int.from_bytes(data[pos:pos + 2], "big")
        if length < 2:
            raise ImageRefused(CORRUPT)
        pos += length
        if pos > size:
            raise ImageRefused(CORRUPT)
        if marker == 0xDA:  # SOS: entropy-coded data runs to the next real marker
            scans += 1
            if scans > _MAX_JPEG_SCANS:
                raise ImageRefused(CORRUPT)
            found = _JPEG_MARKER.search(data, pos)
            if found is None:
                raise ImageRefused(CORRUPT)
            pos = found.start()


def _png_end(data: bytes) -> int:
    pos, size = 8, len(data)
    for _ in range(_MAX_PNG_CHUNKS):
        if pos + 12 > size:
            raise ImageRefused(CORRUPT)
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        pos += 12 + length
        if length > 0x7FFFFFFF or pos > size:
            raise ImageRefused(CORRUPT)
        if kind == b"IEND":
            return pos
    raise ImageRefused(CORRUPT)


def _gif_sub_blocks(data: bytes, pos: int) -> int:
    size = len(data)
    for _ in range(_MAX_GIF_SUB_BLOCKS):
        if pos >= size:
            raise ImageRefused(CORRUPT)
        length = data[pos]
        pos += 1 + length
        if length == 0:
            return pos
    raise ImageRefused(CORRUPT)


def _gif_end(data: bytes) -> int:
    size = len(data)
    if size < 13:
        raise ImageRefused(CORRUPT)
    flags = data[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    images = 0
    for _ in range(_MAX_GIF_SUB_BLOCKS):  # extensions and images, each bounded again in its sub-blocks
        if pos > size:
            raise ImageRefused(CORRUPT)
        if pos == size:  # a missing trailer after complete blocks, which many encoders omit
            if images == 0:
                raise ImageRefused(CORRUPT)
            return pos
        introducer = data[pos]
        if introducer == 0x3B:
            return pos + 1
        if introducer == 0x21:
            pos = _gif_sub_blocks(data, pos + 2)
        elif introducer == 0x2C:
            if pos + 10 > size:
                raise ImageRefused(CORRUPT)
            local = data[pos + 9]
            pos += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0)
            pos = _gif_sub_blocks(data, pos + 1)  # after the LZW minimum code size
            images += 1
        else:
            raise ImageRefused(TRAILING_DATA if images else CORRUPT)
    raise ImageRefused(CORRUPT)


def _webp_end(data: bytes) -> int:
    if len(data) < 12:
        raise ImageRefused(CORRUPT)
    end = 8 + int.from_bytes(data[4:8], "little")
    if end > len(data):
        raise ImageRefused(CORRUPT)
    return end


# --- pixels -----------------------------------------------------------------------------------------------

def _upright(im: Image.Image) -> Image.Image:
    """The pixels as they are meant to be seen; EXIF that cannot be read means no orientation to apply."""
    try:
        orientation = im.getexif().get(0x0112, 1)
    except _PILLOW_ERRORS:
        orientation = 1
    method = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270,
              7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}.get(orientation)
    if method is None:
        return im
    upright = im.transpose(method)
    upright.info = {key: im.info[key] for key in ("transparency",) if key in im.info}
    return upright


def _eight_bit(im: Image.Image) -> Image.Image:
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        return im.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    return im


def _for_output(im: Image.Image, out_format: str, icc: bytes | None) -> Image.Image:
    """The image in a mode ``out_format`` stores: 8-bit, alpha kept where the format has it."""
    if im.mode == "CMYK":
        return _cmyk_to_rgb(im, icc)
    im = _eight_bit(im)
    transparent = "transparency" in im.info or im.mode in ("RGBA", "LA", "PA", "RGBa", "La")
    if out_format == "JPEG":
        return im if im.mode in ("L", "RGB") else im.convert("RGB")
    if out_format == "PNG":
        if im.mode in ("1", "L", "RGB", "P", "LA", "RGBA") and "transparency" not in im.info:
            return im
        return im.convert("RGBA" if transparent else "RGB")
    if im.mode in ("RGB", "RGBA") and "transparency" not in im.info:
        return im
    return im.convert("RGBA" if transparent else "RGB")


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(im, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except (ImageCms.PyCMSError, *_PILLOW_ERRORS):
            pass
    return im.convert("RGB")


def _kept_profile(im: Image.Image, icc: bytes | None) -> bytes | None:
    """The upload's ICC profile when it describes the output's colour space (a CMYK one never does)."""
    if not icc or len(icc) < 20:
        return None
    space = icc[16:20]
    if space == b"RGB " and im.mode in ("RGB", "RGBA", "P"):
        return icc
    if space == b"GRAY" and im.mode in ("L", "LA", "1"):
        return icc
    return None


def _thumbnail(im: Image.Image, width: int, square: bool) -> Image.Image:
    """Never larger than the image: a small upload keeps its size, a square is cut from the centre."""
    w, h = im.size
    if square:
        side = min(width, w, h, WEBP_MAX_SIDE)
        left, top = (w - min(w, h)) // 2, (h - min(w, h)) // 2
        box = (left, top, left + min(w, h), top + min(w, h))
        return im.resize((side, side), Image.Resampling.LANCZOS, box=box, reducing_gap=2.0)
    scale = min(1.0, width / w, WEBP_MAX_SIDE / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return im
    return im.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)


def _encode(im: Image.Image, out_format: str, content_type: str, extension: str, icc: bytes | None) -> Rendition:
    if out_format == "WEBP" and max(im.size) > WEBP_MAX_SIDE:
        raise ImageRefused(TOO_LARGE_FOR_WEBP)
    im.info = {}  # nothing of the upload's metadata rides along; the profile is passed explicitly
    options: dict = {"icc_profile": icc} if icc else {}
    if out_format == "JPEG":  # baseline, no second Huffman pass: the cheapest encode at this quality
        options.update(quality=QUALITY, optimize=False, progressive=False)
    elif out_format == "PNG":  # zlib's middle levels cost about half of its default for slightly larger files
        options.update(compress_level=3, optimize=False)
    else:  # the fastest WebP method for a full image, a thorough one for a thumbnail (a few kilobytes)
        options.update(quality=QUALITY, method=0 if im.width * im.height > THUMBNAIL_PIXELS else 4)
    buffer = io.BytesIO()
    im.save(buffer, out_format, **options)
    return Rendition(data=buffer.getvalue(), content_type=content_type, extension=extension,
                     width=im.width, height=im.height)
