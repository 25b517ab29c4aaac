"""Admin console pages of the discussions slice (mounted at /console/discussions/)."""
app_name = "discussions-console"
urlpatterns: list = []
