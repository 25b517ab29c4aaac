"""The browsable API renderer: DRF's pages, offering only the actions the caller may really take.

DRF decides which forms to show from the permission classes alone (``check_permissions`` and, when a view
has ``get_object``, ``check_object_permissions``). Here authorisation also lives in the services: only the
owner edits a signal, only another administrator reviews it, a session is ended only by its own user. A form
for an action the service then refuses is a lie on the page, so a form is offered only when all of these hold:

- the caller is authenticated (an anonymous visitor gets no form, only the "Log in" link);
- the page is the resource itself, or an error the caller can correct by sending again (a 2xx/3xx, a 400,
  405, 409, 412 or 413), never a 401, 403, 404, 429 or 5xx page;
- the method is allowed and the view's permission classes admit the caller for it;
- for an unsafe method, the view's ``action_allowed(request, method, data)`` says yes — the hook a view
  defines from the same predicates its service enforces. A view without the hook gets unsafe forms only on a
  route that names no object (no URL parameters, e.g. a collection's create or ``/me``); on an object route
  it gets none, because its object-level rules are not known here (secure until the view says otherwise).

Input is JSON (the strict JSON parser is the one parser), so the page offers DRF's raw-data form with the
media type ``application/json``, never the field-by-field HTML form, which posts ``multipart/form-data``.
The raw form is pre-filled from the operation's input serializer (the ``request=`` of its ``extend_schema``):
a create shows every writable field, an edit the current values of those fields.

The one exception is a file upload: a view whose parsers take ``multipart/form-data`` only (``ImageUploadMixin``)
cannot be sent from a textarea, so its page offers DRF's field-by-field form of the view's ``serializer_class``
instead (a file input, ``enctype="multipart/form-data"``, sent to the page's own URL) and no raw form, for the
view's one body method: a POST is a plain form the browser submits itself, the CSRF token a form field (no
script needed); a PUT or PATCH goes as DRF sends its own PUT form, through ajax-form.js as ``FormData`` with the
token in csrf.js's header. Whether it is offered follows the same rules as any unsafe form: an upload route
names no object, so a signed-in caller the permission classes admit gets it, unless the view defines
``action_allowed``. The template shows it below the response (``upload_form``, ``upload_method``).

The page itself (``kernel/browsable_api.html``) links "Log in" to the browser login and logs out with a real
form button (no inline event handler, so the Content-Security-Policy allows no script by hash), and every
HTML response is ``Cache-Control: no-store``: it carries the caller's data and CSRF token.
"""
from __future__ import annotations

import logging
from urllib.parse import urlencode

from django import forms
from rest_framework import exceptions, renderers, serializers
from rest_framework.request import override_method

logger = logging.getLogger("tradesignals.browsable")

LOGIN_PATH = "/auth/login/"  # served by the accounts slice (behind the gateway in a split deployment)
LOGOUT_PATH = "/auth/logout/"
DOCS_PATH = "/api/docs/"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CORRECTABLE = frozenset({400, 405, 409, 412, 413})  # sending again (changed) can succeed: the form stays
BODY_METHODS = ("POST", "PUT", "PATCH")


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    template = "kernel/browsable_api.html"

    # -- which actions the page offers -------------------------------------------------------------------
    def offers(self, view, method: str, request, data) -> bool:
        """Whether the page offers ``method`` to this caller (see the module docstring)."""
        user = getattr(request, "user", None)
        if not (user and user.is_authenticated) or method not in view.allowed_methods:
            return False
        status = self.renderer_context["response"].status_code
        if status >= 400 and status not in CORRECTABLE:
            return False
        with override_method(view, request, method) as probe:
            try:
                view.check_permissions(probe)
            except exceptions.APIException:
                return False
            if method not in UNSAFE:
                return True
            hook = getattr(view, "action_allowed", None)
            if hook is None:
                return not view.kwargs
            try:
                return bool(hook(probe, method, data))
            except Exception:  # a failing check offers nothing; the page itself still renders
                logger.warning("action_allowed failed on %s %s", method, type(view).__name__, exc_info=True)
                return False

    def get_rendered_html_form(self, data, view, method, request):
        """DELETE and OPTIONS buttons when offered; never a field-by-field form (it would not post JSON)."""
        if method in BODY_METHODS:
            return None
        return True if self.offers(view, method, request, data) else None

    def get_upload_form(self, data, view, request) -> tuple[str, str] | tuple[None, None]:
        """``(method, form HTML)``: DRF's HTML form of ``serializer_class`` for an upload view's body method,
        when offered; else ``(None, None)``.

        Always a fresh, unbound form: after an upload the response data is the stored image (or profile), whose
        serializer DRF would otherwise turn into the form."""
        serializer_class = getattr(view, "serializer_class", None)
        if not takes_files_only(view) or serializer_class is None:
            return None, None
        method = next((m for m in BODY_METHODS if m in view.allowed_methods), None)
        if method is None or not self.offers(view, method, request, data):
            return None, None
        with override_method(view, request, method) as probe:
            serializer = serializer_class(context={"request": probe, "view": view})
        return method, self.render_form_for_serializer(serializer)

    def get_raw_data_form(self, data, view, method, request):
        if takes_files_only(view) or not self.offers(view, method, request, data):
            return None  # a file is not typed into a textarea
        media_types = [parser.media_type for parser in view.parser_classes]
        content = self._initial_content(view, method, request, data)

        class RawJSONForm(forms.Form):
            _content_type = forms.ChoiceField(label="Media type", choices=[(m, m) for m in media_types],
                                              initial=media_types[0],
                                              widget=forms.Select(attrs={"data-override": "content-type"}))
            _content = forms.CharField(label="Content", initial=content, required=False,
                                       widget=forms.Textarea(attrs={"data-override": "content"}))

        return RawJSONForm()

    # -- the raw form's initial body -----------------------------------------------------------------------
    def _initial_content(self, view, method: str, request, data) -> str | None:
        serializer_class = input_serializer(view, method, request)
        if serializer_class is None:
            return None
        fields = {name: field for name, field in serializer_class().fields.items() if not field.read_only}
        body = {name: field.get_initial() for name, field in fields.items()}
        if method != "POST" and isinstance(data, dict) and any(name in data for name in fields):
            body = {name: data[name] for name in fields if name in data}  # an edit starts from the values
        return renderers.JSONRenderer().render(body, renderer_context={"indent": 4}).decode()

    # -- the page -------------------------------------------------------------------------------------------
    def get_context(self, data, accepted_media_type, renderer_context):
        context = super().get_context(data, accepted_media_type, renderer_context)
        request = renderer_context["request"]
        upload_method, upload_form = self.get_upload_form(data, renderer_context["view"], request)
        context.update(login_url=f"{LOGIN_PATH}?{urlencode({'next': request.get_full_path()})}",
                       logout_url=LOGOUT_PATH, docs_url=DOCS_PATH, upload_method=upload_method,
                       upload_form=upload_form)
        return context

    def render(self, data, accepted_media_type=None, renderer_context=None):
        page = super().render(data, accepted_media_type, renderer_context)
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Cache-Control"] = "no-store"
        return page


def takes_files_only(view) -> bool:
    """A view that parses ``multipart/form-data`` and nothing else: an upload."""
    media_types = {parser.media_type for parser in getattr(view, "parser_classes", ())}
    return media_types == {"multipart/form-data"}


def input_serializer(view, method: str, request) -> type[serializers.Serializer] | None:
    """The serializer class the operation's ``extend_schema(request=...)`` names, or ``None``.

    Asked through drf-spectacular's own schema class for the handler, so it is the serializer the OpenAPI
    document shows; only an explicit annotation counts (no guessing from the view, which would only warn).
    """
    handler = getattr(view, method.lower(), None)
    schema_class = getattr(handler, "kwargs", {}).get("schema")
    if schema_class is None:
        return None

    class Explicit(schema_class):
        def _get_serializer(self):
            return None

    schema = Explicit()
    with override_method(view, request, method):
        schema.view = view
        schema.method = method
        found = schema.get_request_serializer()
    if isinstance(found, serializers.Serializer):
        found = type(found)
    if isinstance(found, type) and issubclass(found, serializers.Serializer):
        return found
    return None
