"""HTTP API of the signals slice (mounted by tradesignals/urls.py when the slice is enabled)."""
urlpatterns: list = []
