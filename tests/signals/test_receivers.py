"""Projections of user events: owner_name refresh, deactivation hides from the public feed (cache included)."""
from tests.support.signals import BASE, review
from tradesignals.kernel import events


def publish(event_type, data):
    events.publish(event_type, key=data["user_id"], data=data, producer="users" if "profile" in event_type
                   else "accounts")


def test_profile_update_refreshes_owner_name_everywhere(owner, admin, anonymous):
    signal = owner.create()
    review(admin, signal["id"], "approved")
    # warm every cached read
    for caller, path in ((owner, BASE), (anonymous, f"{BASE}/public"), (admin, f"{BASE}/admin"),
                         (anonymous, f"{BASE}/{signal['id']}")):
        assert caller.get(path).status_code == 200
    publish("user.profile_updated", {"user_id": owner.user_id, "display_name": "Olivia Renamed"})
    assert owner.get(BASE).json()["results"][0]["owner_name"] == "Olivia Renamed"
    assert anonymous.get(f"{BASE}/public").json()["results"][0]["owner_name"] == "Olivia Renamed"
    assert admin.get(f"{BASE}/admin").json()["results"][0]["owner_name"] == "Olivia Renamed"
    assert anonymous.get(f"{BASE}/{signal['id']}").json()["owner_name"] == "Olivia Renamed"


def test_deactivation_hides_and_reactivation_restores(owner, other, admin, anonymous):
    signal = owner.create()
    review(admin, signal["id"], "approved")
    assert len(anonymous.get(f"{BASE}/public").json()["results"]) == 1
    assert anonymous.get(f"{BASE}/{signal['id']}").status_code == 200

    publish("user.deactivated", {"user_id": owner.user_id, "changed_by": admin.user_id})
    assert anonymous.get(f"{BASE}/public").json()["results"] == []
    assert other.get(f"{BASE}/{signal['id']}").status_code == 404
    assert admin.get(f"{BASE}/{signal['id']}").status_code == 200  # admins still see it
    assert len(admin.get(f"{BASE}/admin").json()["results"]) == 1

    publish("user.deactivated", {"user_id": owner.user_id, "changed_by": admin.user_id})  # redelivery: no-op
    publish("user.reactivated", {"user_id": owner.user_id, "changed_by": admin.user_id})
    assert [s["id"] for s in anonymous.get(f"{BASE}/public").json()["results"]] == [signal["id"]]
    assert anonymous.get(f"{BASE}/{signal['id']}").status_code == 200


def test_events_for_users_without_signals_change_nothing(owner):
    signal = owner.create()
    publish("user.deactivated", {"user_id": "someone-else", "changed_by": "admin"})
    assert owner.get(f"{BASE}/{signal['id']}").json()["version"] == 1
