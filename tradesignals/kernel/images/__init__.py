"""Uploaded images: the bounded decode/re-encode pipeline (``pipeline``), where the files go (``storage``), the
multipart upload an API view reads (``upload``) and who may collect what (``gc``). Every app that stores
images uses these; the records saying which image belongs to what stay in the app's own collections."""
