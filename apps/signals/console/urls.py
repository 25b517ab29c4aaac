"""Admin console of the signals slice (/console/)."""
urlpatterns: list = []
