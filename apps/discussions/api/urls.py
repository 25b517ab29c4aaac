"""HTTP API of the discussions slice (mounted at /api/v1/discussions/ when the slice is enabled)."""
urlpatterns: list = []
