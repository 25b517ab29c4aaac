"""Django-level error handlers: JSON envelope under /api/, plain pages elsewhere."""
from django.http import HttpResponse

from tradesignals.kernel.errors import error_response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request) or request.path.startswith(("/health",)):
        return error_response("not_found", "Not found.", 404)
    return HttpResponse("<h1>Not found</h1>", status=404)


def server_error(request):
    if _is_api(request):
        return error_response("internal_error", "Something went wrong.", 500)
    return HttpResponse("<h1>Server error</h1>", status=500)


def bad_request(request, exception=None):
    from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent

    from tradesignals.kernel.errors import TOO_MANY_FILES

    if isinstance(exception, (RequestDataTooBig, TooManyFieldsSent)):
        return error_response("payload_too_large", "The request body is too large.", 413)
    if isinstance(exception, TooManyFilesSent):
        return error_response("malformed_request", TOO_MANY_FILES, 400)
    if _is_api(request):
        return error_response("malformed_request", "Bad request.", 400)
    return HttpResponse("<h1>Bad request</h1>", status=400)


def permission_denied(request, exception=None):
    if _is_api(request):
        return error_response("permission_denied", "You do not have permission to do this.", 403)
    return HttpResponse("<h1>Forbidden</h1>", status=403)
