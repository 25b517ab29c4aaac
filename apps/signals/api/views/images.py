"""Uploading a chart image: decoded, re-encoded and stored, then free to attach to one of your signals."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status as http
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.signals import services
from apps.signals.api import serializers as s
from apps.signals.api.views.schema import TAG, errors
from tradesignals.kernel.drf.permissions import IsAuthenticatedPrincipal
from tradesignals.kernel.drf.uploads import ImageUploadInputSerializer, ImageUploadMixin, upload_error_responses


class SignalImageUploadApi(ImageUploadMixin, APIView):
    permission_classes = [IsAuthenticatedPrincipal]
    serializer_class = ImageUploadInputSerializer  # the browsable API's upload form
    name = "Upload a chart image"  # the browsable API's page title

    @extend_schema(
        tags=[TAG], operation_id="trade_signals_images_upload", summary="Upload a chart image",
        description="`multipart/form-data` with one file field `image` and nothing else. The content decides: "
                    "a sound JPEG, PNG, WebP or GIF (first frame) at most IMAGE_MAX_BYTES (413 beyond) and "
                    "IMAGE_MAX_PIXELS pixels; anything else is a 400 naming the reason. The image is re-encoded "
                    "(metadata stripped, orientation applied) with a WebP thumbnail. Attach it with `image_id` on "
                    "create or edit within IMAGE_ORPHAN_TTL, or it is deleted.",
        request={"multipart/form-data": ImageUploadInputSerializer},
        responses={201: s.ImageUploadOutputSerializer, **errors(400, 401, 429), **upload_error_responses()})
    def post(self, request):
        data = self.uploaded_bytes(request)
        self.count_upload(request)
        image = services.chart_image_upload(owner_id=request.user.user_id, data=data)
        return Response(s.ImageUploadOutputSerializer(image).data, status=http.HTTP_201_CREATED)
