"""Image uploads as bytes, for the pipeline's unit tests and the API tests that upload: valid files of every
accepted format (with the metadata a phone writes), the files the product refuses, and readers for what came
out. Everything is generated and deterministic; nothing is read from disk."""
from __future__ import annotations

import functools
import io
import math
import random
import struct
import zipfile
import zlib

from PIL import ExifTags, Image

RED, BLUE, GREEN = (220, 20, 20), (20, 20, 220), (20, 200, 20)
GPS = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (52.0, 22.0, 12.0),
       ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (4.0, 53.0, 30.0)}


def picture(width: int = 64, height: int = 48, *, mode: str = "RGB", noise: bool = False, seed: int = 7) -> Image.Image:
    """Left half red, right half blue (so a rotation shows), optionally covered in deterministic noise."""
    im = Image.new("RGB", (width, height), BLUE)
    im.paste(RED, (0, 0, max(1, width // 2), height))
    if noise:
        grain = Image.frombytes("L", (width, height), random.Random(seed).randbytes(width * height))
        im = Image.merge("RGB", [Image.blend(band, grain, 0.35) for band in im.split()])
    if mode == "RGBA":
        im = im.convert("RGBA")
        im.putalpha(Image.linear_gradient("L").resize((width, height)))
    elif mode != "RGB":
        im = im.convert(mode)
    return im


def _exif(*, exif_gps: bool, orientation: int | None) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Examplecam"
    exif[ExifTags.Base.Model] = "X1 serial 0042"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if exif_gps:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update(GPS)
    return exif


def _save(im: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **options)
    return buffer.getvalue()


XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="52,22.2N"/>'
       b'</rdf:RDF></x:xmpmeta>')


def jpeg(width: int = 64, height: int = 48, *, exif_gps: bool = False, orientation: int | None = None,
         noise: bool = False, mode: str = "RGB", quality: int = 90, xmp: bool = False) -> bytes:
    options = {"quality": quality, "exif": _exif(exif_gps=exif_gps, orientation=orientation),
               "comment": b"shot at home"}
    if xmp:
        options["xmp"] = XMP
    return _save(picture(width, height, mode=mode, noise=noise), "JPEG", **options)


def png(width: int = 64, height: int = 48, *, alpha: bool = False, mode: str | None = None,
        exif_gps: bool = False, orientation: int | None = None, noise: bool = False) -> bytes:
    im = picture(width, height, mode="RGBA" if alpha else "RGB", noise=noise)
    if mode is not None:
        im = im.convert(mode)
    exif = _exif(exif_gps=exif_gps, orientation=orientation) if (exif_gps or orientation) else None
    return _save(im, "PNG", **({"exif": exif} if exif is not None else {}))


def png_palette(width: int = 64, height: int = 48, *, transparent: bool = False) -> bytes:
    """A palette PNG (what chart tools and screenshots often write); index 0 transparent if asked."""
    im = picture(width, height).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    return _save(im, "PNG", **({"transparency": 0} if transparent else {}))


def png_16bit(width: int = 64, height: int = 48) -> bytes:
    im = Image.linear_gradient("L").resize((width, height)).convert("I").point(lambda value: value * 256)
    return _save(im.convert("I;16"), "PNG")


def webp(width: int = 64, height: int = 48, *, alpha: bool = False, lossless: bool = False,
         exif_gps: bool = False, orientation: int | None = None, frames: int = 1) -> bytes:
    im = picture(width, height, mode="RGBA" if alpha else "RGB")
    options: dict = {"lossless": lossless, "quality": 90}
    if exif_gps or orientation:
        options["exif"] = _exif(exif_gps=exif_gps, orientation=orientation)
    if frames > 1:
        options.update(save_all=True, append_images=[Image.new(im.mode, im.size, GREEN)] * (frames - 1))
    return _save(im, "WEBP", **options)


def gif(frames: int = 1, width: int = 64, height: int = 48, *, transparent: bool = False) -> bytes:
    """First frame: the red/blue picture; the others plain green, so a test can tell which frame was kept."""
    first = picture(width, height).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    others = [Image.new("RGB", (width, height), GREEN).convert("P") for _ in range(frames - 1)]
    options: dict = {"save_all": frames > 1, "append_images": others, "duration": 100, "loop": 0}
    if transparent:
        options["transparency"] = 0
    return _save(first, "GIF", **options)


def progressive_jpeg(width: int = 64, height: int = 48) -> bytes:
    return _save(picture(width, height, noise=True), "JPEG", quality=90, progressive=True)


def jpeg_many_scans(scans: int = 1000) -> bytes:
    """A progressive JPEG whose last scan is repeated ``scans`` times: small, but each scan is decoder work."""
    data = progressive_jpeg(16, 16)
    last = data.rindex(b"\xff\xda")
    return data[:last] + data[last:-2] * scans + b"\xff\xd9"


def jpeg_with_profile(icc_profile: bytes, width: int = 64, height: int = 48) -> bytes:
    return _save(picture(width, height), "JPEG", quality=90, icc_profile=icc_profile)


def mpo(width: int = 64, height: int = 48) -> bytes:
    """A multi-picture JPEG as phones write for depth or stereo: the red/blue picture first, a green one after."""
    return _save(picture(width, height), "MPO", save_all=True, append_images=[Image.new("RGB", (width, height), GREEN)])


@functools.lru_cache(maxsize=4)
def jpeg_of_size(target_bytes: int = 5 * 2**20, width: int = 4000, height: int = 3000) -> bytes:
    """A noisy photo-like JPEG within a tenth of ``target_bytes`` (the quality is searched), always the same."""
    im = picture(width, height, noise=True, seed=11)
    low, high, best = 5, 98, b""
    while low <= high:
        quality = (low + high) // 2
        best = _save(im, "JPEG", quality=quality, exif=_exif(exif_gps=True, orientation=1))
        if abs(len(best) - target_bytes) <= target_bytes // 10:
            return best
        low, high = (quality + 1, high) if len(best) < target_bytes else (low, quality - 1)
    return best


def bmp(width: int = 32, height: int = 24) -> bytes:
    return _save(picture(width, height), "BMP")


def tiff(width: int = 32, height: int = 24) -> bytes:
    return _save(picture(width, height), "TIFF")


def ico() -> bytes:
    return _save(picture(32, 32), "ICO")


def svg() -> bytes:
    return (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="64" height="48">'
            b'<script>alert(document.cookie)</script><rect width="64" height="48" fill="red"/></svg>')


def html() -> bytes:
    return b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def pdf() -> bytes:
    return _save(picture(32, 24), "PDF")


def truncated_png() -> bytes:
    data = png(64, 48, noise=True)
    return data[: len(data) // 2]


def truncated_jpeg() -> bytes:
    data = jpeg(64, 48, noise=True)
    return data[: len(data) // 2]


def polyglot_jpeg_html() -> bytes:
    """A valid JPEG a browser sniffing content would also run as a page."""
    return jpeg() + html()


def polyglot_png_zip() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("payload.js", "alert(1)")
    return png() + archive.getvalue()


def polyglot_gif_script() -> bytes:
    return gif() + b"\n;alert(document.cookie);//"


def html_then_png() -> bytes:
    return html() + png()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A file of a few dozen bytes whose header declares ``width``×``height`` (its pixel data is a stub)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + _chunk(b"IEND", b""))


def png_overlong_stream(width: int = 16, height: int = 16, stream_bytes: int = 50_000_000) -> bytes:
    """A small grayscale PNG whose compressed pixel stream inflates to ``stream_bytes``, far beyond its size."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(b"\x00" * stream_bytes, 9)) + _chunk(b"IEND", b""))


def too_many_pixels(max_pixels: int) -> bytes:
    """A complete, valid grayscale PNG of one pixel row more than a square of ``max_pixels`` allows."""
    side = math.isqrt(max_pixels)
    width, height = side, max_pixels // side + 1
    compressor, row, parts = zlib.compressobj(9), b"\x00" * (width + 1), []
    for _ in range(height):
        parts.append(compressor.compress(row))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(parts))
            + _chunk(b"IEND", b""))


def opened(data: bytes) -> Image.Image:
    """The decoded image (loaded, detached from the bytes)."""
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im


def exif_of(data: bytes) -> dict:
    """Every EXIF tag of ``data`` by name, the GPS directory as ``"GPSInfo"`` (absent when empty)."""
    with Image.open(io.BytesIO(data)) as im:
        exif = im.getexif()
        found = {ExifTags.TAGS.get(tag, tag): value for tag, value in exif.items()
                 if tag != ExifTags.IFD.GPSInfo}
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        if gps:
            found["GPSInfo"] = {ExifTags.GPSTAGS.get(tag, tag): value for tag, value in gps.items()}
        return found


def metadata_of(data: bytes) -> dict:
    """What besides pixels the file carries that could identify a person: EXIF, XMP, comments, text chunks."""
    with Image.open(io.BytesIO(data)) as im:
        info = {key: value for key, value in im.info.items()
                if key in ("exif", "xmp", "XML:com.adobe.xmp", "comment", "Comment")}
        if hasattr(im, "text"):
            info.update(im.text)
        return info


def jpeg_just_under(limit: int, *, slack: int = 1000) -> bytes:
    """A noisy 4000×3000 photo JPEG (GPS in its EXIF) of exactly ``limit - slack`` bytes: a photo near the
    size limit, made up to length by comment segments (metadata the pipeline drops)."""
    target = limit - slack
    data = jpeg_of_size(int(target * 0.85))
    pad = target - len(data)
    if pad < 4:
        raise ValueError(f"the photo is already {len(data)} bytes, over {target}")
    segments = []
    while pad:
        size = min(pad, 65537)  # a segment: marker, two length bytes (counting themselves), payload
        if 0 < pad - size < 4:
            size -= 4
        segments.append(b"\xff\xfe" + struct.pack(">H", size - 2) + b"\0" * (size - 4))
        pad -= size
    return data[:2] + b"".join(segments) + data[2:]
