"""Browser login pages of the accounts slice (/auth/)."""
urlpatterns: list = []
