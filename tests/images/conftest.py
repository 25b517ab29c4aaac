"""The image tests run on both storage backends: a private MEDIA_ROOT, and a bucket on a real SeaweedFS."""
from tests.support.seaweed import seaweedfs, storage_backend  # noqa: F401 - fixtures for every test here
