"""The image pipeline as an uploader meets it: what is accepted comes back re-encoded, upright and without
metadata, with a WebP thumbnail; everything else is refused with a reason, and hostile bytes never raise
anything but that refusal."""
from __future__ import annotations

import random
import time

import pytest
from PIL import ImageCms, ImageFile

from tests.support import images
from tradesignals.kernel.errors import ValidationFailed
from tradesignals.kernel.images.pipeline import (
    CORRUPT,
    EMPTY,
    NOT_AN_IMAGE,
    TRAILING_DATA,
    ImageRefused,
    ProcessedImage,
    process,
)

MAX_PIXELS = 4_000_000


def _process(data: bytes, **options) -> ProcessedImage:
    return process(data, max_pixels=options.pop("max_pixels", MAX_PIXELS), **options)


def _refusal(data: bytes, **options) -> str:
    with pytest.raises(ImageRefused) as refused:
        _process(data, **options)
    return refused.value.message


@pytest.mark.parametrize(("data", "source", "content_type", "extension", "mode"), [
    (images.jpeg(64, 48), "JPEG", "image/jpeg", "jpg", "RGB"),
    (images.jpeg(64, 48, mode="L"), "JPEG", "image/jpeg", "jpg", "L"),
    (images.jpeg(64, 48, mode="CMYK"), "JPEG", "image/jpeg", "jpg", "RGB"),
    (images.mpo(64, 48), "JPEG", "image/jpeg", "jpg", "RGB"),
    (images.progressive_jpeg(64, 48), "JPEG", "image/jpeg", "jpg", "RGB"),
    (images.png(64, 48), "PNG", "image/png", "png", "RGB"),
    (images.png(64, 48, alpha=True), "PNG", "image/png", "png", "RGBA"),
    (images.png(64, 48, mode="LA"), "PNG", "image/png", "png", "LA"),
    (images.png_palette(64, 48), "PNG", "image/png", "png", "P"),
    (images.png_palette(64, 48, transparent=True), "PNG", "image/png", "png", "RGBA"),
    (images.png_16bit(64, 48), "PNG", "image/png", "png", "L"),
    (images.webp(64, 48), "WEBP", "image/webp", "webp", "RGB"),
    (images.webp(64, 48, alpha=True), "WEBP", "image/webp", "webp", "RGBA"),
    (images.webp(64, 48, lossless=True), "WEBP", "image/webp", "webp", "RGB"),
    (images.gif(1, 64, 48), "GIF", "image/png", "png", "P"),
    (images.gif(1, 64, 48, transparent=True), "GIF", "image/png", "png", "RGBA"),
], ids=["jpeg", "jpeg-gray", "jpeg-cmyk", "mpo", "jpeg-progressive", "png", "png-alpha", "png-gray-alpha",
        "png-palette", "png-palette-transparent", "png-16bit", "webp", "webp-alpha", "webp-lossless", "gif",
        "gif-transparent"])
def test_every_accepted_format_comes_back_re_encoded_in_its_output_format(data, source, content_type, extension,
                                                                         mode):
    result = _process(data)

    assert result.source_format == source
    assert (result.image.content_type, result.image.extension) == (content_type, extension)
    assert (result.image.width, result.image.height) == (64, 48)
    stored = images.opened(result.image.data)
    assert (stored.format.lower(), stored.size, stored.mode) == (extension.replace("jpg", "jpeg"), (64, 48), mode)
    assert result.image.data != data


def test_the_picture_survives_the_re_encoding():
    stored = images.opened(_process(images.png(64, 48)).image.data).convert("RGB")

    assert stored.getpixel((5, 24)) == images.RED
    assert stored.getpixel((60, 24)) == images.BLUE


def test_gps_camera_and_xmp_metadata_are_gone_and_the_orientation_is_applied():
    upload = images.jpeg(40, 20, exif_gps=True, orientation=6, xmp=True)
    assert "GPSInfo" in images.exif_of(upload) and images.metadata_of(upload)

    result = _process(upload)

    assert (result.image.width, result.image.height) == (20, 40)
    assert images.exif_of(result.image.data) == {}
    assert images.metadata_of(result.image.data) == {}
    upright = images.opened(result.image.data)
    assert upright.size == (20, 40)
    red, blue = upright.getpixel((10, 3)), upright.getpixel((10, 36))  # the stored left half is now on top
    assert red[0] > 180 > red[2] and blue[2] > 180 > blue[0]
    assert images.exif_of(result.thumbnail.data) == {}


@pytest.mark.parametrize("upload", [images.png(40, 20, exif_gps=True, orientation=6),
                                    images.webp(40, 20, exif_gps=True, orientation=6)], ids=["png", "webp"])
def test_png_and_webp_orientation_and_gps_are_handled_like_jpeg(upload):
    result = _process(upload)

    assert (result.image.width, result.image.height) == (20, 40)
    assert images.exif_of(result.image.data) == {}


def test_the_thumbnail_is_a_webp_of_the_asked_width_with_proportional_height():
    result = _process(images.jpeg(1600, 1200, noise=True))

    thumbnail = images.opened(result.thumbnail.data)
    assert (thumbnail.format, thumbnail.size) == ("WEBP", (480, 360))
    assert (result.thumbnail.content_type, result.thumbnail.extension) == ("image/webp", "webp")
    assert (result.thumbnail.width, result.thumbnail.height) == (480, 360)
    assert (result.image.width, result.image.height) == (1600, 1200)


def test_a_smaller_image_keeps_its_size_as_thumbnail():
    result = _process(images.png(300, 100, alpha=True), thumbnail_width=480)

    thumbnail = images.opened(result.thumbnail.data)
    assert (thumbnail.format, thumbnail.size, thumbnail.mode) == ("WEBP", (300, 100), "RGBA")


def test_a_square_thumbnail_is_cut_from_the_centre():
    result = _process(images.jpeg(900, 300), thumbnail_width=200, square=True)

    thumbnail = images.opened(result.thumbnail.data)
    assert thumbnail.size == (200, 200) == (result.thumbnail.width, result.thumbnail.height)
    left, right = thumbnail.getpixel((5, 100)), thumbnail.getpixel((195, 100))  # the red/blue border is centred
    assert left[0] > 180 > left[2] and right[2] > 180 > right[0]


def test_a_square_thumbnail_of_a_small_image_is_never_upscaled():
    result = _process(images.jpeg(120, 90), thumbnail_width=480, square=True)

    assert images.opened(result.thumbnail.data).size == (90, 90)


def test_only_the_first_frame_of_an_animated_gif_or_webp_is_kept():
    for upload in (images.gif(frames=5), images.webp(frames=5)):
        result = _process(upload)

        stored = images.opened(result.image.data)
        assert getattr(stored, "n_frames", 1) == 1
        assert stored.convert("RGB").getpixel((5, 24)) != images.GREEN
        assert images.opened(result.thumbnail.data).convert("RGB").getpixel((5, 24)) != images.GREEN


@pytest.mark.parametrize(("data", "reason"), [
    (b"", EMPTY),
    (images.svg(), NOT_AN_IMAGE),
    (images.html(), NOT_AN_IMAGE),
    (images.pdf(), NOT_AN_IMAGE),
    (images.bmp(), NOT_AN_IMAGE),
    (images.tiff(), NOT_AN_IMAGE),
    (images.ico(), NOT_AN_IMAGE),
    (b"GIF89a", CORRUPT),
    (images.html_then_png(), NOT_AN_IMAGE),
    (images.truncated_png(), CORRUPT),
    (images.truncated_jpeg(), CORRUPT),
    (images.webp()[:-10], CORRUPT),
    (images.gif(3)[:-20], CORRUPT),
    (images.polyglot_jpeg_html(), TRAILING_DATA),
    (images.polyglot_png_zip(), TRAILING_DATA),
    (images.polyglot_gif_script(), TRAILING_DATA),
    (images.mpo() + images.html(), TRAILING_DATA),
    (images.webp() + images.html(), TRAILING_DATA),
    (images.jpeg_many_scans(1000), CORRUPT),
], ids=["empty", "svg", "html", "pdf", "bmp", "tiff", "ico", "gif-header-only", "html-then-png", "truncated-png",
        "truncated-jpeg", "truncated-webp", "truncated-gif", "jpeg+html", "png+zip", "gif+script", "mpo+html",
        "webp+html", "jpeg-of-a-thousand-scans"])
def test_refused_inputs_each_say_why(data, reason):
    with pytest.raises(ImageRefused) as refused:
        _process(data)

    assert refused.value.message == reason
    assert refused.value.details == {"image": [reason]}
    assert isinstance(refused.value, ValidationFailed) and refused.value.status == 400
    assert refused.value.code == "validation_error"


def test_a_truncated_image_is_refused_even_where_pillow_is_told_to_load_truncated_files(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)

    assert _refusal(images.truncated_png()) == CORRUPT
    assert _refusal(images.truncated_jpeg()) == CORRUPT


def test_zero_padding_after_the_end_of_an_image_is_not_a_payload():
    assert _process(images.jpeg() + b"\x00" * 64).image.width == 64


def test_an_rgb_colour_profile_is_kept_so_wide_gamut_photos_keep_their_colours():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    upload = images.jpeg_with_profile(profile)

    result = _process(upload)

    assert images.opened(result.image.data).info.get("icc_profile") == profile
    assert images.opened(result.thumbnail.data).info.get("icc_profile") == profile


def test_an_image_over_the_pixel_limit_is_refused_with_its_size():
    assert _refusal(images.too_many_pixels(10_000), max_pixels=10_000) == (
        "The image is 100×101 pixels; at most 10,000 pixels are allowed.")
    assert _process(images.png(100, 100), max_pixels=10_000).image.width == 100


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize(("width", "height"), [(30000, 30000), (10000, 10000), (65535, 65535), (5000, 5000)])
def test_a_header_declaring_a_huge_image_is_refused_before_any_decoding(width, height):
    bomb = images.png_bomb(width, height)
    assert len(bomb) < 200

    started = time.process_time()
    reason = _refusal(bomb, max_pixels=MAX_PIXELS)

    assert time.process_time() - started < 0.05
    assert "pixels are allowed" in reason


@pytest.mark.parametrize(("width", "height"), [(0, 10), (10, 0), (0, 0)])
def test_a_header_declaring_no_pixels_is_refused(width, height):
    assert _refusal(images.png_bomb(width, height)) in (CORRUPT, NOT_AN_IMAGE)


def test_a_small_declared_image_with_an_oversized_pixel_stream_stays_bounded():
    """The pixel data of a small header is read only as far as the header's size, however much follows."""
    data = images.png_overlong_stream(16, 16, 50_000_000)
    assert len(data) < 100_000

    started = time.process_time()
    result = _process(data)

    assert time.process_time() - started < 0.5
    assert (result.image.width, result.image.height) == (16, 16)


def _mutations(data: bytes, rng: random.Random, count: int):
    for _ in range(count):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(mutated))
            mutated[position] ^= 1 << rng.randrange(8)
        yield bytes(mutated)
        yield data[: rng.randrange(1, len(data))]
        yield data[: rng.randrange(len(data))] + rng.randbytes(rng.randint(1, 64)) + data[rng.randrange(len(data)):]


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_damaged_and_random_inputs_are_refused_or_processed_never_anything_else(seed):
    rng = random.Random(seed)
    valid = [images.jpeg(48, 32, exif_gps=True, orientation=6), images.png(32, 24, alpha=True), images.webp(32, 24),
             images.gif(3, 32, 24), images.mpo(32, 24), images.png_palette(32, 24, transparent=True),
             images.webp(32, 24, lossless=True, frames=2)]
    inputs = [rng.randbytes(rng.randint(1, 2048)) for _ in range(40)]
    inputs += [prefix + rng.randbytes(200) for prefix in (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a",
                                                          b"RIFF\x00\x01\x00\x00WEBPVP8 ")]
    for data in valid:
        inputs.extend(_mutations(data, rng, 60))

    outcomes = {"processed": 0, "refused": 0}
    for data in inputs:
        try:
            result = process(data, max_pixels=1_000_000, thumbnail_width=64)
        except ImageRefused as refused:
            assert refused.message
            outcomes["refused"] += 1
        else:
            assert images.opened(result.image.data).size == (result.image.width, result.image.height)
            assert images.opened(result.thumbnail.data).format == "WEBP"
            outcomes["processed"] += 1
    assert outcomes["refused"] > 0 and outcomes["processed"] > 0


def _many_jpeg_comments(count: int) -> bytes:
    jpeg = images.jpeg(8, 8)
    return jpeg[:2] + b"\xff\xfe\x00\x03x" * count + jpeg[2:]


def _many_png_chunks(count: int) -> bytes:
    import struct
    import zlib

    png = images.png(8, 8)
    chunk = struct.pack(">I", 0) + b"tEXt" + struct.pack(">I", zlib.crc32(b"tEXt"))
    return png[:33] + chunk * count + png[33:]  # after the signature and IHDR


def _gif_comment_of_tiny_blocks(count: int) -> bytes:
    gif = images.gif()
    header_end = 13 + (3 << ((gif[10] & 7) + 1) if gif[10] & 0x80 else 0)
    return gif[:header_end] + b"\x21\xfe" + b"\x01x" * count + b"\x00" + gif[header_end:]


@pytest.mark.parametrize("hostile", [
    pytest.param(lambda: _many_jpeg_comments(1_000_000), id="jpeg-a-million-comment-markers"),
    pytest.param(lambda: _many_png_chunks(200_000), id="png-200k-empty-chunks"),
    pytest.param(lambda: _gif_comment_of_tiny_blocks(2_000_000), id="gif-2M-one-byte-sub-blocks"),
])
def test_a_file_of_countless_tiny_segments_is_refused_before_any_decoder_parses_it(hostile):
    """Pillow parses markers and chunks in Python: a file of a million tiny ones cost it seconds before any
    check of ours ran. The container is walked first, with caps no real encoder comes near."""
    data = hostile()
    started = time.process_time()
    with pytest.raises(ImageRefused) as refused:
        process(data, max_pixels=40_000_000)
    assert time.process_time() - started < 0.5
    assert refused.value.reason == CORRUPT


@pytest.mark.parametrize("make", [
    pytest.param(lambda: _many_jpeg_comments(50), id="jpeg-50-comments"),
    pytest.param(lambda: _many_png_chunks(50), id="png-50-chunks"),
    pytest.param(lambda: _gif_comment_of_tiny_blocks(50), id="gif-50-sub-blocks"),
])
def test_a_few_such_segments_are_an_ordinary_image(make):
    data = make()
    assert process(data, max_pixels=40_000_000).image.width == images.opened(data).width
