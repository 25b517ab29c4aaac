"""Thin views of the signals API: parse → service/selector → render. Cached reads answer with stored bytes
(and 304s). ``lists`` holds the three lists and creation, ``detail`` one signal, ``conditional`` the entity
tags and the cached and written responses, ``schema`` what every operation documents alike, ``market`` the
candles a feed posts and anyone reads, ``leaderboard`` the public ranking of traders."""
from apps.signals.api.views.detail import SignalDetailApi, SignalStatusApi
from apps.signals.api.views.images import SignalImageUploadApi
from apps.signals.api.views.leaderboard import LeaderboardApi
from apps.signals.api.views.lists import SignalAdminListApi, SignalListCreateApi, SignalPublicListApi
from apps.signals.api.views.market import MarketCandlesApi

__all__ = ["LeaderboardApi", "MarketCandlesApi", "SignalAdminListApi", "SignalDetailApi", "SignalImageUploadApi",
           "SignalListCreateApi", "SignalPublicListApi", "SignalStatusApi"]
