"""HTTP API of the accounts slice (mounted by tradesignals/urls.py when the slice is enabled)."""
urlpatterns: list = []
