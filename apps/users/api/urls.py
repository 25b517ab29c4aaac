"""HTTP API of the users slice (mounted by tradesignals/urls.py when the slice is enabled)."""
urlpatterns: list = []
