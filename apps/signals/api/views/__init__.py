"""Thin views of the signals API: parse → service/selector → render. Cached reads answer with stored bytes
(and 304s). ``lists`` holds the three lists and creation, ``detail`` one signal, ``conditional`` the entity
tags and the cached and written responses, ``schema`` what every operation documents alike."""
from apps.signals.api.views.detail import SignalDetailApi, SignalStatusApi
from apps.signals.api.views.images import SignalImageUploadApi
from apps.signals.api.views.lists import SignalAdminListApi, SignalListCreateApi, SignalPublicListApi

__all__ = ["SignalAdminListApi", "SignalDetailApi", "SignalImageUploadApi", "SignalListCreateApi",
           "SignalPublicListApi", "SignalStatusApi"]
