"""Every write to trade signals: create, edit, review, delete, and the owner projections fed by events.

Each write is one MongoDB transaction holding the change and its outbox event (``events.atomic``), and is
a conditional update on ``version`` — two writers that read the same version cannot both win. A caller
that sent ``If-Match`` gets 412 when it lost; a caller that did not is retried on a fresh read (its change
is re-validated against the new state), so a status change racing an edit always leaves a consistent
document. After the commit the Django signals below are sent; cache invalidation hangs on them.

Outcomes (``apps.signals.outcomes``; the evaluation is ``apps.signals.evaluation``): an approval starts the
signal's outcome at the approval's time, an edit resets it to pending (it starts again at the next approval),
and a rejection of a live signal does too. A decided outcome is final: the owner can neither edit the signal
(409) nor delete it (409: a trader must not erase a loss from their record); an administrator still rejects or
deletes it. The evaluation bumps ``version`` with every outcome change, so an edit or review that read the
signal before an outcome was decided loses its conditional write and re-reads (and then meets the 409).
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import django.dispatch
from bson import ObjectId
from django.conf import settings
from pymongo.errors import OperationFailure

from apps.signals import enums, outcomes, selectors
from apps.signals import events as signal_events
from apps.signals.models import (
    ChartImage,
    Outcome,
    Review,
    TradeSignal,
    Transition,
    normalize_image_url,
    normalize_price,
    normalize_rationale,
    normalize_reason,
    normalize_symbol,
    price_order_errors,
)
from tradesignals.kernel import events
from tradesignals.kernel.clock import utcnow
from tradesignals.kernel.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    ValidationFailed,
    must_be_one_of,
)
from tradesignals.kernel.identity import Principal
from tradesignals.kernel.images import pipeline, records, storage
from tradesignals.kernel.mongo import object_id
from tradesignals.kernel.retry import WriteLost, is_write_conflict, retry_on_conflict

# Sent after a commit with ``change=SignalChange``.
signal_saved = django.dispatch.Signal()           # created or edited
signal_deleted = django.dispatch.Signal()
signal_status_changed = django.dispatch.Signal()  # reviewed
# Sent after a change to all of one owner's signals (name refresh, deactivation) with owner_id, signal_ids.
owner_signals_changed = django.dispatch.Signal()
# Sent after an evaluation committed outcome changes, with ``changes=[SignalChange, …]`` (apps.signals.evaluation).
signal_outcomes_changed = django.dispatch.Signal()

OUTCOME_FINAL_MESSAGE = "The signal's outcome is decided, and a decided outcome is final."

EDITABLE = ("symbol", "direction", "entry_price", "stop_loss", "take_profit", "timeframe", "rationale",
            "image_url")


@dataclass(frozen=True)
class SignalChange:
    """What a committed write changed, as far as readers (and their caches) care."""

    signal_id: str
    owner_id: str
    old_status: str | None
    new_status: str | None
    was_public: bool
    is_public: bool
    version: int | None


def _change_of(signal: TradeSignal, *, old_status: str, was_public: bool) -> SignalChange:
    """The change an edit or review made to ``signal`` (as it is after the write)."""
    return SignalChange(signal_id=str(signal.id), owner_id=signal.owner_id, old_status=old_status,
                        new_status=signal.status, was_public=was_public, is_public=_public(signal),
                        version=signal.version)


def _public(signal: TradeSignal | None) -> bool:
    return bool(signal and signal.status == enums.APPROVED and signal.owner_active)


def _collection():
    return TradeSignal._get_collection()


IMAGE_ID = "image_id"  # set with create/edit, shown as ``image``; not a stored field of its own
IMAGE_UNKNOWN = "No upload of yours with this id is free to attach: upload the chart first (POST …/images)."
IMAGE_KIND = "charts"


# -- validation --------------------------------------------------------------------------------------
_NORMALIZERS = {
    "symbol": normalize_symbol,
    "entry_price": normalize_price,
    "stop_loss": normalize_price,
    "take_profit": normalize_price,
    "rationale": normalize_rationale,
    "image_url": normalize_image_url,
}


def _clean(data: dict) -> dict:
    """Apply the field rules (again — the console calls services without DRF) and collect every error."""
    cleaned, errors = {}, {}
    for name, value in data.items():
        if name == IMAGE_ID:
            if value is not None and object_id(value) is None:
                errors[name] = [IMAGE_UNKNOWN]
            else:
                cleaned[name] = value if value is None else object_id(value)
            continue
        if name not in EDITABLE:
            errors[name] = ["This field cannot be set."]
            continue
        try:
            if name == "direction" and value not in enums.DIRECTIONS:
                raise ValueError(must_be_one_of(enums.DIRECTIONS))
            if name == "timeframe" and value not in enums.TIMEFRAMES:
                raise ValueError(must_be_one_of(enums.TIMEFRAMES))
            if name in ("entry_price", "stop_loss", "take_profit") and not isinstance(value, Decimal):
                raise ValueError("A decimal number is required.")
            if name in ("symbol", "rationale") and not isinstance(value, str):
                raise ValueError("Must be a string.")
            normalize = _NORMALIZERS.get(name)
            cleaned[name] = normalize(value) if normalize else value
        except ValueError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


def _check_prices(values: dict) -> None:
    errors = price_order_errors(direction=values["direction"], entry=values["entry_price"],
                                stop=values["stop_loss"], take=values["take_profit"])
    if errors:
        raise ValidationFailed(details=errors)


# -- authorisation --------------------------------------------------------------------------------------
def _load_for(*, signal_id: str, actor: Principal, may) -> TradeSignal:
    """The signal if ``may(actor=…, owner_id=…)`` lets ``actor`` change it; 404 when they may not even see it,
    403 when they can. The predicates are the ones the browsable API asks before offering a form."""
    signal = selectors.signal_get(signal_id=signal_id)
    if signal is None:
        raise NotFound("Trade signal not found.")
    if may(actor=actor, owner_id=signal.owner_id):
        return signal
    visible = selectors.signal_visibility(viewer_id=actor.user_id, viewer_is_admin=actor.is_admin,
                                          owner_id=signal.owner_id, status=signal.status,
                                          owner_active=signal.owner_active)
    if visible is None:
        raise NotFound("Trade signal not found.")
    raise PermissionDenied("Only the owner may change this signal.")


SELF_REVIEW_MESSAGE = ("Administrators cannot review their own signals: another administrator has to approve "
                       "or reject it.")


def signal_may_review(*, actor: Principal, owner_id: str) -> bool:
    """Separation of duties: an admin decides on other people's signals, never on their own — unless
    ``SIGNAL_SELF_REVIEW`` is on (an install with one administrator). The console asks this to hide the
    decision form; ``signal_review`` enforces it for every caller."""
    return actor.is_admin and (actor.user_id != owner_id or settings.SIGNAL_SELF_REVIEW)


def signal_may_update(*, actor: Principal, owner_id: str) -> bool:
    """Only the owner edits a signal (``signal_update``). The browsable API asks this to offer its edit form."""
    return actor.user_id == owner_id


def signal_may_delete(*, actor: Principal, owner_id: str) -> bool:
    """The owner or an administrator deletes a signal (``signal_delete``)."""
    return actor.user_id == owner_id or actor.is_admin


def _check_version(signal: TradeSignal, if_match: Collection[int] | None) -> None:
    """``if_match`` holds the versions the client's ``If-Match`` names (``None``: no precondition); the write
    goes ahead only if the signal is at one of them, so an empty set never matches."""
    if if_match is not None and signal.version not in if_match:
        raise PreconditionFailed(
            f"The signal is at version {signal.version}; reload it and retry.",
            details={"current_version": signal.version},
        )


def _conditional_write(write) -> None:
    """Run ``write(session)`` in one transaction; a write conflict is a lost race like a missed version."""
    try:
        with events.atomic("signals") as session:
            write(session)
    except OperationFailure as exc:
        if not is_write_conflict(exc):
            raise
        raise WriteLost() from None


def _lost_race(if_match: Collection[int] | None) -> dict:
    """What ``retry_on_conflict`` raises for a signal write that keeps losing (409), or at once for a caller
    whose ``If-Match`` version lost (412)."""
    return {"conflict": Conflict("The signal is being changed concurrently; retry."),
            "precondition": None if if_match is None else PreconditionFailed(
                "The signal was changed by someone else; reload it and retry.")}


def outcome_state(signal: TradeSignal) -> str:
    """The signal's outcome state; a document stored before outcomes existed has none and is pending."""
    return signal.outcome.state if signal.outcome is not None else enums.OUTCOME_PENDING


def outcome_document(state: outcomes.State) -> Outcome:
    return Outcome(state=state.state, starts_at=state.starts_at, entered_at=state.entered_at,
                   closed_at=state.closed_at, exit_price=state.exit_price, r_multiple=state.r_multiple)


def _outcome_after_review(signal: TradeSignal, *, status: str, at) -> Outcome | None:
    """The outcome a review leaves (``None``: unchanged). An approval starts it at the approval, a rejection of
    a live signal puts it back to pending; a decided outcome stays as it is (re-approving a rejected signal
    whose outcome was decided does not give it a second run)."""
    current = outcome_state(signal)
    if current in enums.OUTCOME_FINAL:
        return None
    if status == enums.APPROVED:
        return outcome_document(outcomes.started(at))
    if current in enums.OUTCOME_LIVE:
        return Outcome(state=enums.OUTCOME_PENDING)
    return None


def _transition(*, from_status: str, to_status: str, by: str, at, reason: str | None) -> Transition:
    return Transition(from_status=from_status, to_status=to_status, by=by, at=at, reason=reason)


# -- services ---------------------------------------------------------------------------------------------
def signal_create(*, owner_id: str, owner_name: str, symbol: str, direction: str, entry_price: Decimal,
                  stop_loss: Decimal, take_profit: Decimal, timeframe: str, rationale: str,
                  image_url: str | None = None, image_id: str | None = None) -> TradeSignal:
    """A new signal is always ``pending``; ``owner_name`` comes from the caller's token; ``image_id`` attaches
    one of the owner's free uploads in the same transaction."""
    values = _clean({"symbol": symbol, "direction": direction, "entry_price": entry_price,
                     "stop_loss": stop_loss, "take_profit": take_profit, "timeframe": timeframe,
                     "rationale": rationale, "image_url": image_url, IMAGE_ID: image_id})
    image_oid = values.pop(IMAGE_ID)
    _check_prices(values)
    collection = _collection()  # before the transaction: a first use builds the indexes, which no transaction may

    def attempt() -> TradeSignal:
        # The image is read again on a retry: an attach that lost to the orphan sweep is then the 400 it is.
        image = _free_image(owner_id=owner_id, image_id=image_oid) if image_oid is not None else None
        moment = utcnow()
        signal = TradeSignal(id=ObjectId(), owner_id=owner_id, owner_name=owner_name or "", owner_active=True,
                             status=enums.PENDING, review=None, history=[], version=1,
                             outcome=Outcome(state=enums.OUTCOME_PENDING), created_at=moment,
                             updated_at=moment, image=image.ref() if image else None, **values)
        signal.validate()
        son = signal.to_mongo()

        def write(session):
            if image is not None:
                _attach(image=image, signal_id=signal.id, session=session)
            collection.insert_one(son, session=session)
            events.publish(signal_events.CREATED, key=str(signal.id), producer=signal_events.PRODUCER, data={
                "signal_id": str(signal.id), "owner_id": owner_id, "symbol": signal.symbol,
                "direction": signal.direction, "timeframe": signal.timeframe, "status": signal.status,
            })

        _conditional_write(write)
        return signal

    signal = retry_on_conflict(attempt, **_lost_race(None))
    signal_saved.send(sender=TradeSignal, change=SignalChange(
        signal_id=str(signal.id), owner_id=owner_id, old_status=None, new_status=signal.status,
        was_public=False, is_public=False, version=1))
    return signal


def signal_update(*, signal_id: str, actor: Principal, data: dict,
                  if_match: Collection[int] | None = None) -> TradeSignal:
    """Owner edit. An approved or rejected signal goes back to ``pending`` and its review is cleared; the
    outcome goes back to pending (evaluation restarts at the next approval). A decided outcome is final: 409."""
    if not data:
        raise ValidationFailed(details={"non_field_errors": ["Send at least one field to change."]})
    changes = _clean(data)
    image_change = IMAGE_ID in changes
    image_oid = changes.pop(IMAGE_ID, None)

    def attempt():
        signal = _load_for(signal_id=signal_id, actor=actor, may=signal_may_update)
        _check_version(signal, if_match)
        if outcome_state(signal) in enums.OUTCOME_FINAL:
            raise Conflict(OUTCOME_FINAL_MESSAGE, details={"outcome": outcome_state(signal)})
        merged = {name: getattr(signal, name) for name in EDITABLE} | changes
        _check_prices(merged)
        old_status, was_public, moment = signal.status, _public(signal), utcnow()
        fields = TradeSignal._fields
        update = {"$set": {name: None if value is None else fields[name].to_mongo(value)
                           for name, value in changes.items()}}
        pending = Outcome(state=enums.OUTCOME_PENDING)
        update["$set"].update(updated_at=moment, version=signal.version + 1, outcome=pending.to_mongo())
        current = signal.image.id if signal.image is not None else None
        swap = image_change and image_oid != current
        new_image = _free_image(owner_id=signal.owner_id, image_id=image_oid) if swap and image_oid else None
        if swap:
            update["$set"]["image"] = new_image.ref().to_mongo() if new_image else None
        discarded = [current] if swap and current is not None else []
        transition = None
        if old_status != enums.PENDING:
            transition = _transition(from_status=old_status, to_status=enums.PENDING, by=actor.user_id,
                                     at=moment, reason=None)
            update["$set"].update(status=enums.PENDING, review=None)
            update["$push"] = {"history": transition.to_mongo()}

        def write(session):
            result = _collection().update_one({"_id": signal.id, "version": signal.version}, update,
                                              session=session)
            if result.matched_count != 1:
                raise WriteLost()
            if new_image is not None:
                _attach(image=new_image, signal_id=signal.id, session=session)
            _discard(discarded, signal_id=signal.id, at=moment, session=session)
            events.publish(signal_events.UPDATED, key=str(signal.id), producer=signal_events.PRODUCER, data={
                "signal_id": str(signal.id), "owner_id": signal.owner_id, "old_status": old_status,
                "new_status": enums.PENDING, "version": signal.version + 1,
                "symbol": merged["symbol"], "direction": merged["direction"], "timeframe": merged["timeframe"],
                **_discarded_data(discarded),
            })

        _conditional_write(write)
        for name, value in changes.items():
            setattr(signal, name, value)
        if swap:
            signal.image = new_image.ref() if new_image else None
        signal.updated_at, signal.version, signal.outcome = moment, signal.version + 1, pending
        if transition is not None:
            signal.status, signal.review = enums.PENDING, None
            signal.history.append(transition)
        return signal, old_status, was_public

    signal, old_status, was_public = retry_on_conflict(attempt, **_lost_race(if_match))
    signal_saved.send(sender=TradeSignal, change=_change_of(signal, old_status=old_status, was_public=was_public))
    return signal


def signal_review(*, signal_id: str, actor: Principal, status: str, reason: str | None = None,
                  if_match: Collection[int] | None = None) -> TradeSignal:
    """Admin approval or rejection of someone else's signal (see ``signal_may_review``; a reason is required
    to reject); the same status again is 409. An approval starts the outcome (``_outcome_after_review``)."""
    if not actor.is_admin:
        raise PermissionDenied("Administrator role required.")
    if status not in enums.REVIEW_STATUSES:
        raise ValidationFailed(details={"status": [must_be_one_of(enums.REVIEW_STATUSES)]})
    try:
        reason = normalize_reason(reason, required=status == enums.REJECTED)
    except ValueError as exc:
        raise ValidationFailed(details={"reason": [str(exc)]}) from None

    def attempt():
        # Any administrator reaches the signal; whether they may decide on it is the self-review rule (403).
        signal = _load_for(signal_id=signal_id, actor=actor, may=lambda *, actor, owner_id: actor.is_admin)
        if not signal_may_review(actor=actor, owner_id=signal.owner_id):
            raise PermissionDenied(SELF_REVIEW_MESSAGE)
        _check_version(signal, if_match)
        old_status, was_public = signal.status, _public(signal)
        if (old_status, status) not in enums.TRANSITIONS:
            raise Conflict(f"The signal is already {old_status}.", details={"status": old_status})
        moment = utcnow()
        review = Review(by=actor.user_id, at=moment, reason=reason)
        transition = _transition(from_status=old_status, to_status=status, by=actor.user_id, at=moment,
                                 reason=reason)
        update = {"$set": {"status": status, "review": review.to_mongo(), "updated_at": moment,
                           "version": signal.version + 1},
                  "$push": {"history": transition.to_mongo()}}
        outcome = _outcome_after_review(signal, status=status, at=moment)
        if outcome is not None:
            update["$set"]["outcome"] = outcome.to_mongo()

        def write(session):
            result = _collection().update_one({"_id": signal.id, "version": signal.version}, update,
                                              session=session)
            if result.matched_count != 1:
                raise WriteLost()
            events.publish(signal_events.STATUS_CHANGED, key=str(signal.id), producer=signal_events.PRODUCER,
                           data={"signal_id": str(signal.id), "owner_id": signal.owner_id, "symbol": signal.symbol,
                                 "old_status": old_status, "new_status": status, "reason": reason,
                                 "reviewed_by": actor.user_id, "version": signal.version + 1})

        _conditional_write(write)
        signal.status, signal.review, signal.updated_at = status, review, moment
        signal.version += 1
        if outcome is not None:
            signal.outcome = outcome
        signal.history.append(transition)
        return signal, old_status, was_public

    signal, old_status, was_public = retry_on_conflict(attempt, **_lost_race(if_match))
    change = _change_of(signal, old_status=old_status, was_public=was_public)
    signal_status_changed.send(sender=TradeSignal, change=change)
    return signal


def signal_delete(*, signal_id: str, actor: Principal, if_match: Collection[int] | None = None) -> None:
    """Owner or admin; removes the document and publishes ``trade_signal.deleted``. The owner may not delete a
    signal whose outcome is decided (409): only an administrator takes it off the record."""

    def attempt():
        signal = _load_for(signal_id=signal_id, actor=actor, may=signal_may_delete)
        _check_version(signal, if_match)
        if not actor.is_admin and outcome_state(signal) in enums.OUTCOME_FINAL:
            raise Conflict(OUTCOME_FINAL_MESSAGE, details={"outcome": outcome_state(signal)})

        discarded = [signal.image.id] if signal.image is not None else []

        def write(session):
            result = _collection().delete_one({"_id": signal.id, "version": signal.version}, session=session)
            if result.deleted_count != 1:
                raise WriteLost()
            _discard(discarded, signal_id=signal.id, at=utcnow(), session=session)
            events.publish(signal_events.DELETED, key=str(signal.id), producer=signal_events.PRODUCER, data={
                "signal_id": str(signal.id), "owner_id": signal.owner_id, "status": signal.status,
                **_discarded_data(discarded)})

        _conditional_write(write)
        return signal

    signal = retry_on_conflict(attempt, **_lost_race(if_match))
    signal_deleted.send(sender=TradeSignal, change=SignalChange(
        signal_id=str(signal.id), owner_id=signal.owner_id, old_status=signal.status, new_status=None,
        was_public=_public(signal), is_public=False, version=None))


def _owner_signal_ids(owner_id: str) -> list[str]:
    return [str(raw["_id"]) for raw in _collection().find({"owner_id": owner_id}, {"_id": 1})]


def _owner_update(*, owner_id: str, match: dict, values: dict) -> int:
    """Set ``values`` on every signal of ``owner_id`` matching ``match`` (idempotent: re-running is a no-op)."""
    query = {"owner_id": owner_id, **match}
    result = _collection().update_many(query, {"$set": {**values, "updated_at": utcnow()}, "$inc": {"version": 1}})
    if result.modified_count:
        owner_signals_changed.send(sender=TradeSignal, owner_id=owner_id, signal_ids=_owner_signal_ids(owner_id))
    return result.modified_count


def signal_owner_rename(*, owner_id: str, owner_name: str) -> int:
    """Projection of ``user.profile_updated``: the owner's display name on all their signals."""
    return _owner_update(owner_id=owner_id, match={"owner_name": {"$ne": owner_name}},
                         values={"owner_name": owner_name})


def signal_owner_set_active(*, owner_id: str, active: bool) -> int:
    """Projection of ``user.deactivated`` / ``user.reactivated``: hide or restore in the public feed."""
    return _owner_update(owner_id=owner_id, match={"owner_active": {"$ne": active}},
                         values={"owner_active": active})


# -- chart images ------------------------------------------------------------------------------------------------
def _images():
    return ChartImage._get_collection()  # a first use (index builds) happens in _free_image, before any transaction


def _free_image(*, owner_id: str, image_id) -> ChartImage:
    """The caller's own upload that no signal holds; anything else (unknown, someone else's, attached, being
    collected) is the same 400, so ids of other people's uploads reveal nothing."""
    raw = _images().find_one({"_id": image_id, "owner_id": owner_id, "signal_id": None, "discarded_at": None})
    if raw is None:
        raise ValidationFailed(details={IMAGE_ID: [IMAGE_UNKNOWN]})
    return ChartImage._from_son(raw)


def _attach(*, image: ChartImage, signal_id, session) -> None:
    """Take the upload for ``signal_id`` inside the signal's transaction, if it is still free (a second signal
    or the orphan sweep racing for it loses the whole write)."""
    result = _images().update_one({"_id": image.id, "owner_id": image.owner_id, "signal_id": None,
                                   "discarded_at": None}, {"$set": {"signal_id": signal_id}}, session=session)
    if result.modified_count != 1:
        raise ValidationFailed(details={IMAGE_ID: [IMAGE_UNKNOWN]})


def _discard(image_ids: list, *, signal_id, at, session) -> None:
    if image_ids:
        _images().update_many({"_id": {"$in": image_ids}, "signal_id": signal_id},
                              {"$set": {"discarded_at": at}}, session=session)


def _discarded_data(image_ids: list) -> dict:
    return {"discarded_image_ids": [str(i) for i in image_ids]} if image_ids else {}


def chart_image_upload(*, owner_id: str, data: bytes) -> ChartImage:
    """Decode, re-encode and store an upload (400 for anything but a sound JPEG/PNG/WebP/GIF, 503 when the
    store fails), then record it as the owner's, free to attach; a record that cannot be written takes its
    files with it."""
    processed = pipeline.process(data, max_pixels=settings.IMAGE_MAX_PIXELS,
                                 thumbnail_width=settings.IMAGE_THUMBNAIL_WIDTH)
    stored = storage.store(processed, kind=IMAGE_KIND)
    image = ChartImage.of(stored, owner_id=owner_id, created_at=utcnow(), signal_id=None, id=ObjectId())
    with records.kept_only_if_recorded(stored, _images(), image.id):
        _images().insert_one(image.to_mongo())
    return image


def chart_images_purge(*, image_ids: list[str]) -> int:
    """Delete detached charts (files, then records): the consumer of the signal events and the sweep."""
    return records.purge(_images(), image_ids)


def chart_images_collect(now) -> dict[str, int]:
    """The sweep (kernel.images.gc): orphans past IMAGE_ORPHAN_TTL, detached records past IMAGE_GC_GRACE, and
    stored chart files no record names past IMAGE_GC_GRACE."""
    orphan_before = now - timedelta(seconds=settings.IMAGE_ORPHAN_TTL)
    grace_before = now - timedelta(seconds=settings.IMAGE_GC_GRACE)
    orphans = 0
    while True:  # claim one at a time: an attach racing the sweep either wins or finds it gone
        raw = _images().find_one_and_update(
            {"signal_id": None, "discarded_at": None, "created_at": {"$lt": orphan_before}},
            {"$set": {"discarded_at": now}}, projection={"_id": 1})
        if raw is None:
            break
        orphans += chart_images_purge(image_ids=[str(raw["_id"])])
    return {"orphans": orphans,
            "detached": records.sweep_detached(_images(), before=grace_before),
            "unreferenced_files": records.sweep_unreferenced(_images(), kind=IMAGE_KIND, before=grace_before)}
