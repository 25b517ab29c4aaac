"""Test-only routes that exercise the kernel's error handling through real DRF views."""
from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from tradesignals.kernel.drf.urls import api_route
from tradesignals.urls import handler400, handler403, handler404, handler500  # noqa: F401


class EchoApi(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        return Response({"received": request.data})


class BoomApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("secret internal detail /etc/passwd")


class WhoAmIApi(APIView):
    def get(self, request):
        return Response({"user_id": request.user.user_id, "role": request.user.role})


urlpatterns = [
    api_route("api/probe/echo", EchoApi.as_view()),
    api_route("api/probe/boom", BoomApi.as_view()),
    api_route("api/probe/whoami", WhoAmIApi.as_view()),
    path("", include("tradesignals.urls")),
]
