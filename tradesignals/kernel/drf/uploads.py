"""The one way an API view takes a file: ``multipart/form-data`` with exactly one file field, held in memory
up to ``IMAGE_MAX_BYTES`` (413 beyond, whatever Content-Length claimed), nothing else in the form, and a
per-user budget of uploads shared by every app (429). A chunked body reaches the app only through the gateway,
which buffers it and sends its length (gunicorn alone hands Django an empty body: "send one image file")."""
from __future__ import annotations

from io import BytesIO

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser

from tradesignals.kernel import ratelimit
from tradesignals.kernel.drf.fields import StrictInputSerializer
from tradesignals.kernel.errors import PayloadTooLarge, ValidationFailed

UPLOAD_RATE_GROUP = "images:upload:user"


def too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"The image exceeds {settings.IMAGE_MAX_BYTES} bytes.",
                           details={"max_bytes": settings.IMAGE_MAX_BYTES})


class BoundedMemoryUploadHandler(FileUploadHandler):
    """Keep one file in memory and stop the upload the moment it passes the limit: Django's default handlers
    would spool any size to a temporary file, and a second file is refused before it is read."""

    def __init__(self, request=None, *, limit: int):
        super().__init__(request)
        self.limit, self.files, self.buffer, self.received = limit, 0, None, 0

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.files += 1
        if self.files > 1:
            raise ValidationFailed(details={self.field_name: ["Send one file only."]})
        self.buffer, self.received = BytesIO(), 0
        raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            raise too_large()
        self.buffer.write(raw_data)
        return None

    def file_complete(self, file_size):
        self.buffer.seek(0)
        return InMemoryUploadedFile(self.buffer, self.field_name, self.file_name, self.content_type, file_size,
                                    self.charset, self.content_type_extra)


def upload_error_responses() -> dict:
    """What every upload operation documents beyond the usual errors: the image too large, not a form, the store
    down."""
    from drf_spectacular.utils import OpenApiResponse

    from tradesignals.kernel.drf.schema import ErrorEnvelopeSerializer

    text = {413: "The image is too large", 415: "Not multipart/form-data", 503: "The image store is unavailable"}
    return {code: OpenApiResponse(ErrorEnvelopeSerializer, description=text[code]) for code in text}


class ImageUploadInputSerializer(StrictInputSerializer):
    """The upload form, for the OpenAPI document (one required binary field, nothing else) and the browsable
    API's form; ``ImageUploadMixin.uploaded_bytes`` enforces it."""

    image = serializers.ImageField(help_text="A JPEG, PNG, WebP or GIF (first frame), judged by its content.")


class ImageUploadMixin:
    """For an ``APIView`` taking one image in the form field ``upload_field``. ``max_body_bytes`` widens the
    kernel's early body limit (``BodySizeLimitMiddleware``) for this view alone."""

    parser_classes = [MultiPartParser]
    upload_field = "image"

    @classmethod
    def max_body_bytes(cls) -> int:
        return settings.IMAGE_UPLOAD_MAX_BODY_BYTES

    def initialize_request(self, request, *args, **kwargs):
        request.upload_handlers = [BoundedMemoryUploadHandler(request, limit=settings.IMAGE_MAX_BYTES)]
        return super().initialize_request(request, *args, **kwargs)

    def uploaded_bytes(self, request) -> bytes:
        """The file's bytes, after the form is checked: exactly the one file field, no other field."""
        field = self.upload_field
        # A browser form posting with the session cookie carries Django's CSRF token as a field of its own.
        extra = sorted(set(request.data.keys()) - {field, "csrfmiddlewaretoken"})
        if extra:
            raise ValidationFailed(details={name: ["This field cannot be set."] for name in extra})
        uploads = request.FILES.getlist(field)
        if len(uploads) != 1:
            raise ValidationFailed(details={field: [f"Send one image file in the form field '{field}'."]})
        return uploads[0].read()

    def count_upload(self, request) -> None:
        """One upload against the caller's hourly budget (charts and avatars alike)."""
        ratelimit.hit(request, group=UPLOAD_RATE_GROUP, key=request.user.user_id,
                      rate=ratelimit.rate(settings.IMAGE_UPLOAD_RATE_MAX, settings.IMAGE_UPLOAD_RATE_WINDOW),
                      message="Too many images uploaded; retry later.")
