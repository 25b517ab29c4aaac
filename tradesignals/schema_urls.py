"""Schema-only URLconf: the all-in-one root URLconf (every slice), whichever slices this process serves.

Never the ``ROOT_URLCONF``: nothing resolves against it. ``/api/schema/`` (``tradesignals/urls.py``)
generates the document from it, so each instance of a split deployment describes the whole API behind the
gateway. Imported on the first document request, so a slice process loads the other slices' code (views
and serializers, never their receivers or databases) only when someone asks for the document.
"""
from tradesignals import slices
from tradesignals.urls import mounts

urlpatterns = mounts(slices.SLICES.values())
