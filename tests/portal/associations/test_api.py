"""The associations API, through the app: every contract call and error code, on both databases."""

from __future__ import annotations

import re
from typing import Any

from portal.context import Context
from tests.factories import create_user
from tests.portal.associations.factories import (
    KNOWN_RNA,
    KNOWN_SIREN,
    PDF,
    PNG,
    create_validated,
    mails_to,
    staff_admin,
)

API = "/api/v1"


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert body["status_code"] == status
    assert body["detail"]  # a French sentence for a person


# --- creation ----------------------------------------------------------------------------------


async def test_create_association_is_pending_with_the_directory_name(ctx: Context, client: Any) -> None:
    _, headers = await create_user(ctx)
    response = await client.post(
        f"{API}/associations", json={"name": "Escalade", "rna": KNOWN_RNA, "domain": "Sport"}, headers=headers
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending"
    detail = (await client.get(f"{API}/associations/{body['id']}", headers=headers)).json()
    assert detail["name"] == "Quimper Escalade Cornouaille"  # the official name wins
    assert detail["role"] is None  # gestionnaire only once the town validates


async def test_create_with_siren_only_and_unknown_number_needs_a_name(ctx: Context, client: Any) -> None:
    _, headers = await create_user(ctx)
    ok = await client.post(
        f"{API}/associations", json={"siren": KNOWN_SIREN, "domain": "Sport"}, headers=headers
    )
    assert ok.status_code == 201
    unknown = await client.post(
        f"{API}/associations", json={"rna": "W290000001", "domain": "Sport"}, headers=headers
    )
    assert_error(unknown, 400, "name_required")


async def test_bad_identifiers_are_refused(ctx: Context, client: Any) -> None:
    _, headers = await create_user(ctx)
    cases = [
        ({"rna": "W12345678"}, "invalid_rna"),
        ({"rna": "123456789"}, "invalid_rna"),
        ({"siren": "12345678"}, "invalid_siren"),
        ({"siren": "781234506"}, "invalid_siren"),  # bad Luhn key
        ({}, "identifier_required"),
    ]
    for identifiers, code in cases:
        response = await client.post(
            f"{API}/associations", json={"name": "Club", "domain": "Sport", **identifiers}, headers=headers
        )
        assert_error(response, 400, code)
    assert (await client.get(f"{API}/associations", headers=headers)).json() == []  # nothing half-made


async def test_create_requires_login_and_a_body(ctx: Context, client: Any) -> None:
    response = await client.post(f"{API}/associations", json={"rna": KNOWN_RNA, "domain": "Sport"})
    assert_error(response, 401, "not_authenticated")
    _, headers = await create_user(ctx)
    assert_error(
        await client.post(f"{API}/associations", json={"rna": 12}, headers=headers), 400, "invalid_request"
    )


async def test_an_association_exists_only_once(ctx: Context, client: Any) -> None:
    _, first = await create_user(ctx)
    _, second = await create_user(ctx)
    body = {"rna": KNOWN_RNA, "domain": "Sport"}
    assert (await client.post(f"{API}/associations", json=body, headers=first)).status_code == 201
    assert_error(
        await client.post(f"{API}/associations", json=body, headers=second), 409, "association_exists"
    )


# --- staff validation --------------------------------------------------------------------------


async def test_validation_makes_the_creator_gestionnaire_and_mails_them(ctx: Context, client: Any) -> None:
    creator, headers = await create_user(ctx)
    admin_account, admin = await staff_admin(ctx)
    response = await client.post(
        f"{API}/associations", json={"rna": KNOWN_RNA, "domain": "Sport"}, headers=headers
    )
    association_id = response.json()["id"]
    assert admin_account.email is not None  # the town is told a request waits
    (notice,) = await mails_to(ctx, admin_account.email)
    assert notice.template == "portal/association_submitted" and "/admin/associations" in notice.body_text
    # before validation, the creator manages nobody yet
    assert_error(
        await client.get(f"{API}/associations/{association_id}/members", headers=headers), 403, "forbidden"
    )
    pending = (await client.get(f"{API}/admin/associations", headers=admin)).json()
    assert [a["id"] for a in pending] == [association_id]

    response = await client.post(f"{API}/admin/associations/{association_id}/validate", headers=admin)
    assert response.status_code == 200
    assert response.json() == {"id": association_id, "status": "validated"}

    members = (await client.get(f"{API}/associations/{association_id}/members", headers=headers)).json()
    assert [(m["account_id"], m["role"]) for m in members] == [(str(creator.id), "gestionnaire")]
    assert members[0]["activated_at"] is not None and "function" in members[0]
    assert creator.email is not None
    mails = await mails_to(ctx, creator.email)
    assert [m.template for m in mails] == ["portal/association_validated"]
    assert "Quimper Escalade Cornouaille" in mails[0].subject
    assert f"/partenaire/associations/{association_id}" in mails[0].body_text
    # validating twice answers the same and does not mail again
    assert (
        await client.post(f"{API}/admin/associations/{association_id}/validate", headers=admin)
    ).status_code == 200
    assert len(await mails_to(ctx, creator.email)) == 1


async def test_only_staff_admin_validates(ctx: Context, client: Any) -> None:
    _, headers = await create_user(ctx)
    _, finance = await create_user(ctx, staff_role="finance")
    association_id = (
        await client.post(f"{API}/associations", json={"rna": KNOWN_RNA, "domain": "Sport"}, headers=headers)
    ).json()["id"]
    for who in (headers, finance):
        assert_error(
            await client.post(f"{API}/admin/associations/{association_id}/validate", headers=who),
            403,
            "forbidden",
        )
        assert_error(await client.get(f"{API}/admin/associations", headers=who), 403, "forbidden")
    assert (await client.get(f"{API}/associations/{association_id}", headers=headers)).json()[
        "status"
    ] == "pending"


async def test_rejection_needs_a_reason_mails_it_and_allows_a_new_request(ctx: Context, client: Any) -> None:
    creator, headers = await create_user(ctx)
    _, admin = await staff_admin(ctx)
    body = {"rna": KNOWN_RNA, "domain": "Sport"}
    association_id = (await client.post(f"{API}/associations", json=body, headers=headers)).json()["id"]
    url = f"{API}/admin/associations/{association_id}/reject"
    assert_error(await client.post(url, json={"reason": "  "}, headers=admin), 400, "reason_required")
    response = await client.post(url, json={"reason": "Composition du bureau illisible."}, headers=admin)
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert_error(
        await client.post(url, json={"reason": "encore"}, headers=admin), 409, "association_not_pending"
    )
    assert creator.email is not None
    (mail,) = await mails_to(ctx, creator.email)
    assert mail.template == "portal/association_rejected"
    assert "Composition du bureau illisible." in mail.body_text
    mine = (await client.get(f"{API}/associations", headers=headers)).json()
    assert [(a["status"], a["rejection_reason"]) for a in mine] == [
        ("rejected", "Composition du bureau illisible.")
    ]
    # asking again reuses the space, pending again
    again = await client.post(f"{API}/associations", json=body, headers=headers)
    assert again.status_code == 201 and again.json() == {"id": association_id, "status": "pending"}


# --- share keys --------------------------------------------------------------------------------


async def test_share_key_lets_one_person_join_once(ctx: Context, client: Any) -> None:
    _, manager = await create_user(ctx)
    joiner, joiner_headers = await create_user(ctx, first_name="Yann", last_name="Kervella")
    _, third = await create_user(ctx)
    _, admin = await staff_admin(ctx)
    association_id = await create_validated(client, manager, admin)

    response = await client.post(f"{API}/associations/{association_id}/share-keys", headers=manager)
    assert response.status_code == 201
    key = response.json()["key"]
    assert response.json()["status"] == "new"
    assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", key)

    response = await client.post(
        f"{API}/associations/join",
        json={"key": key.lower().replace("-", " "), "function": "Trésorier"},
        headers=joiner_headers,
    )
    assert response.status_code == 200
    assert response.json() == {"association_id": association_id, "role": "mandataire"}

    assert_error(
        await client.post(f"{API}/associations/join", json={"key": key, "function": "x"}, headers=third),
        400,
        "invalid_share_key",
    )
    keys = (await client.get(f"{API}/associations/{association_id}/share-keys", headers=manager)).json()
    assert [(k["status"], k["used_by"]["name"]) for k in keys] == [("used", "Yann Kervella")]
    assert keys[0]["used_at"] is not None and "key" not in keys[0]  # the key is never shown again
    members = (await client.get(f"{API}/associations/{association_id}/members", headers=manager)).json()
    assert {(m["account_id"], m["role"], m["function"]) for m in members} >= {
        (str(joiner.id), "mandataire", "Trésorier")
    }


async def test_revoked_and_unknown_keys_are_invalid(ctx: Context, client: Any) -> None:
    _, manager = await create_user(ctx)
    _, joiner = await create_user(ctx)
    _, admin = await staff_admin(ctx)
    association_id = await create_validated(client, manager, admin)
    created = (await client.post(f"{API}/associations/{association_id}/share-keys", headers=manager)).json()
    revoke = await client.post(
        f"{API}/associations/{association_id}/share-keys/{created['id']}/revoke", headers=manager
    )
    assert revoke.status_code == 200 and revoke.json()["status"] == "revoked"
    for key in (created["key"], "AAAA-BBBB-CCCC-DDDD", ""):
        assert_error(
            await client.post(f"{API}/associations/join", json={"key": key, "function": ""}, headers=joiner),
            400,
            "invalid_share_key",
        )
    again = await client.post(
        f"{API}/associations/{association_id}/share-keys/{created['id']}/revoke", headers=manager
    )
    assert_error(again, 409, "share_key_not_revocable")


async def test_a_mandataire_reads_but_does_not_manage(ctx: Context, client: Any) -> None:
    _, manager = await create_user(ctx)
    _, proxy = await create_user(ctx)
    _, admin = await staff_admin(ctx)
    association_id = await create_validated(client, manager, admin)
    key = (await client.post(f"{API}/associations/{association_id}/share-keys", headers=manager)).json()[
        "key"
    ]
    await client.post(f"{API}/associations/join", json={"key": key, "function": ""}, headers=proxy)

    assert (await client.get(f"{API}/associations/{association_id}", headers=proxy)).json()[
        "role"
    ] == "mandataire"
    for method, path, body in [
        ("post", "share-keys", None),
        ("get", "share-keys", None),
        ("get", "members", None),
        ("get", "join-requests", None),
        ("post", "people", {"name": "Anne", "kind": "board"}),
    ]:
        response = await client.request(
            method.upper(), f"{API}/associations/{association_id}/{path}", json=body, headers=proxy
        )
        assert_error(response, 403, "forbidden")


# --- memberships -------------------------------------------------------------------------------


async def test_the_last_gestionnaire_cannot_leave(ctx: Context, client: Any) -> None:
    manager_account, manager = await create_user(ctx)
    other, other_headers = await create_user(ctx)
    _, admin = await staff_admin(ctx)
    association_id = await create_validated(client, manager, admin)
    own = f"{API}/associations/{association_id}/members/{manager_account.id}"
    assert_error(await client.delete(own, headers=manager), 409, "last_manager")
    assert_error(await client.patch(own, json={"role": "mandataire"}, headers=manager), 409, "last_manager")

    key = (await client.post(f"{API}/associations/{association_id}/share-keys", headers=manager)).json()[
        "key"
    ]
    await client.post(
        f"{API}/associations/join", json={"key": key, "function": "Secrétaire"}, headers=other_headers
    )
    promote = await client.patch(
        f"{API}/associations/{association_id}/members/{other.id}",
        json={"role": "gestionnaire"},
        headers=manager,
    )
    assert promote.status_code == 200 and promote.json()["role"] == "gestionnaire"
    assert_error(
        await client.patch(
            f"{API}/associations/{association_id}/members/{other.id}", json={"role": "chef"}, headers=manager
        ),
        400,
        "invalid_role",
    )
    # now another gestionnaire exists: the first one may step down
    assert (await client.delete(own, headers=manager)).status_code == 204
    assert_error(await client.get(f"{API}/associations/{association_id}", headers=manager), 403, "forbidden")
    members = (await client.get(f"{API}/associations/{association_id}/members", headers=other_headers)).json()
    assert [(m["account_id"], m["role"]) for m in members] == [(str(other.id), "gestionnaire")]


async def test_a_gestionnaire_revokes_a_mandataire(ctx: Context, client: Any) -> None:
    manager_account, manager = await create_user(ctx)
    proxy, proxy_headers = await create_user(ctx)
    _, admin = await staff_admin(ctx)
    association_id = await create_validated(client, manager, admin)
    key = (await client.post(f"{API}/associations/{association_id}/share-keys", headers=manager)).json()[
        "key"
    ]
    await client.post(f"{API}/associations/join", json={"key": key, "function": ""}, headers=proxy_headers)
    # a mandataire may not revoke others
    assert_error(
        await client.delete(
            f"{API}/associations/{association_id}/members/{manager_account.id}", headers=proxy_headers
        ),
        403,
        "forbidden",
    )
    assert (
        await client.delete(f"{API}/associations/{association_id}/members/{proxy.id}", headers=manager)
    ).status_code == 204
    assert_error(
        await client.get(f"{API}/associations/{association_id}", headers=proxy_headers), 403, "forbidden"
    )
    assert_error(
        await client.delete(f"{API}/associations/{association_id}/members/{proxy.id}", headers=manager),
        404,
        "not_found",
    )


async def test_one_person_in_several_associations(ctx: Context, client: Any) -> None:
    _, person = await create_user(ctx)
    _, admin = await staff_admin(ctx)
    first = await create_validated(client, person, admin, rna="W291111111", name="Premier club")
    second = await create_validated(client, person, admin, rna="W292222222", name="Second club")
    mine = (await client.get(f"{API}/associations", headers=person)).json()
    assert {(a["id"], a["role"]) for a in mine} == {(first, "gestionnaire"), (second, "gestionnaire")}


# --- join requests -----------------------------------------------------------------------------


async def test_join_request_approved_by_a_gestionnaire(ctx: Context, client: Any) -> None:
    _, manager = await create_user(ctx)
    requester, requester_headers = await create_user(ctx, first_name="Nolwenn", last_name="Le Bihan")
    _, admin = await staff_admin(ctx)
    association_id = await create_validated(client, manager, admin, rna="W291234567")

    response = await client.post(
        f"{API}/associations/join-requests",
        json={"rna": "W291234567", "function": "Entraîneuse"},
        headers=requester_headers,
    )
    assert response.status_code == 201
    request_id = response.json()["id"]
    assert response.json()["status"] == "pending" and response.json()["association_id"] == association_id
    assert_error(
        await client.post(
            f"{API}/associations/join-requests", json={"rna": "W291234567"}, headers=requester_headers
        ),
        409,
        "join_request_exists",
    )
    # the requester is not a member yet
    assert_error(
        await client.get(f"{API}/associations/{association_id}", headers=requester_headers), 403, "forbidden"
    )
    listed = (await client.get(f"{API}/associations/{association_id}/join-requests", headers=manager)).json()
    assert [(r["id"], r["name"], r["function"]) for r in listed] == [
        (request_id, "Nolwenn Le Bihan", "Entraîneuse")
    ]

    response = await client.post(
        f"{API}/associations/{association_id}/join-requests/{request_id}/approve", headers=manager
    )
    assert response.status_code == 200
    assert response.json()["role"] == "mandataire" and response.json()["status"] == "approved"
    assert (await client.get(f"{API}/associations/{association_id}", headers=requester_headers)).json()[
        "role"
    ] == "mandataire"
    assert requester.email is not None
    assert [m.template for m in await mails_to(ctx, requester.email)] == ["portal/join_request_approved"]
    again = await client.post(
        f"{API}/associations/{association_id}/join-requests/{request_id}/refuse", headers=manager
    )
    assert_error(again, 409, "join_request_decided")


async def test_join_request_refused_is_mailed(ctx: Context, client: Any) -> None:
    manager_account, manager = await create_user(ctx)
    requester, requester_headers = await create_user(ctx)
    _, admin = await staff_admin(ctx)
    association_id = await create_validated(client, manager, admin, rna=None, siren=KNOWN_SIREN)
    request_id = (
        await client.post(
            f"{API}/associations/join-requests", json={"siren": KNOWN_SIREN}, headers=requester_headers
        )
    ).json()["id"]
    assert manager_account.email is not None
    assert "portal/join_request_received" in [m.template for m in await mails_to(ctx, manager_account.email)]
    response = await client.post(
        f"{API}/associations/{association_id}/join-requests/{request_id}/refuse",
        json={"reason": "Vous n'êtes pas au bureau."},
        headers=manager,
    )
    assert response.status_code == 200 and response.json()["status"] == "refused"
    assert requester.email is not None
    (mail,) = await mails_to(ctx, requester.email)
    assert mail.template == "portal/join_request_refused" and "Vous n'êtes pas au bureau." in mail.body_text
    assert_error(
        await client.get(f"{API}/associations/{association_id}", headers=requester_headers), 403, "forbidden"
    )


async def test_join_request_errors(ctx: Context, client: Any) -> None:
    _, person = await create_user(ctx)
    _, other = await create_user(ctx)
    url = f"{API}/associations/join-requests"
    assert_error(await client.post(url, json={"rna": "W12"}, headers=person), 400, "invalid_rna")
    assert_error(await client.post(url, json={"siren": "781234506"}, headers=person), 400, "invalid_siren")
    assert_error(await client.post(url, json={"rna": "W290000009"}, headers=person), 404, "not_found")
    await client.post(f"{API}/associations", json={"rna": KNOWN_RNA, "domain": "Sport"}, headers=other)
    assert_error(
        await client.post(url, json={"rna": KNOWN_RNA}, headers=person), 409, "association_not_validated"
    )


async def test_without_gestionnaire_staff_approves_and_the_next_member_becomes_gestionnaire(
    ctx: Context, client: Any
) -> None:
    founder, founder_headers = await create_user(ctx)
    requester, requester_headers = await create_user(ctx)
    _, admin = await staff_admin(ctx)
    association_id = await create_validated(client, founder_headers, admin)
    # staff admin removes the only gestionnaire (the town may; a gestionnaire alone may not leave)
    removed = await client.delete(f"{API}/associations/{association_id}/members/{founder.id}", headers=admin)
    assert removed.status_code == 204
    request_id = (
        await client.post(
            f"{API}/associations/join-requests", json={"rna": "W291234567"}, headers=requester_headers
        )
    ).json()["id"]
    response = await client.post(
        f"{API}/associations/{association_id}/join-requests/{request_id}/approve", headers=admin
    )
    assert response.status_code == 200 and response.json()["role"] == "gestionnaire"
    members = (
        await client.get(f"{API}/associations/{association_id}/members", headers=requester_headers)
    ).json()
    assert [(m["account_id"], m["role"]) for m in members] == [(str(requester.id), "gestionnaire")]


# --- isolation ---------------------------------------------------------------------------------


async def test_a_partner_never_sees_another_association(ctx: Context, client: Any) -> None:
    _, alice = await create_user(ctx)
    _, bob = await create_user(ctx)
    _, admin = await staff_admin(ctx)
    mine = await create_validated(client, alice, admin, rna="W291111111")
    theirs = await create_validated(client, bob, admin, rna="W292222222")
    upload = await client.post(
        f"{API}/associations/{theirs}/documents",
        files={"file": ("bureau.pdf", PDF, "application/pdf")},
        data={"kind": "board_composition"},
        headers=bob,
    )
    document_id = upload.json()["id"]
    for path in (
        "",
        "/members",
        "/documents",
        "/people",
        "/share-keys",
        "/join-requests",
        f"/documents/{document_id}/file",
    ):
        assert_error(await client.get(f"{API}/associations/{theirs}{path}", headers=alice), 403, "forbidden")
    # and a document id of another association is not reachable through one's own
    assert_error(
        await client.get(f"{API}/associations/{mine}/documents/{document_id}/file", headers=alice),
        404,
        "not_found",
    )
    assert [a["id"] for a in (await client.get(f"{API}/associations", headers=alice)).json()] == [mine]


# --- documents ---------------------------------------------------------------------------------


async def test_documents_are_checked_by_content_and_served_to_entitled_people(
    ctx: Context, client: Any
) -> None:
    creator, headers = await create_user(ctx)
    _, admin = await staff_admin(ctx)
    association_id = (
        await client.post(f"{API}/associations", json={"rna": KNOWN_RNA, "domain": "Sport"}, headers=headers)
    ).json()["id"]
    url = f"{API}/associations/{association_id}/documents"
    # a text file named .pdf is refused whatever it claims
    fake = await client.post(
        url,
        files={"file": ("bureau.pdf", b"not a pdf at all", "application/pdf")},
        data={"kind": "board_composition"},
        headers=headers,
    )
    assert_error(fake, 422, "unsupported_file")
    bad_kind = await client.post(
        url, files={"file": ("x.pdf", PDF, "application/pdf")}, data={"kind": "recette"}, headers=headers
    )
    assert_error(bad_kind, 400, "invalid_document_kind")
    too_big = await client.post(
        url,
        files={"file": ("x.pdf", PDF + b"0" * (5 * 1024 * 1024), "application/pdf")},
        data={"kind": "other"},
        headers=headers,
    )
    assert_error(too_big, 413, "file_too_large")

    # the creator of a pending association uploads the proof documents the town checks
    identity = await client.post(
        url, files={"file": ("id.png", PNG, "image/png")}, data={"kind": "identity"}, headers=headers
    )
    assert identity.status_code == 201 and identity.json()["content_type"] == "image/png"
    board = await client.post(
        url,
        files={"file": ("bureau.pdf", PDF, "application/octet-stream")},
        data={"kind": "board_composition", "title": "Bureau 2027", "valid_until": "2028-06-30"},
        headers=headers,
    )
    assert board.status_code == 201
    assert board.json()["content_type"] == "application/pdf" and board.json()["valid_until"] == "2028-06-30"

    staff_view = (await client.get(f"{API}/admin/associations", headers=admin)).json()
    assert {d["kind"] for d in staff_view[0]["documents"]} == {"identity", "board_composition"}
    file = await client.get(f"{url}/{identity.json()['id']}/file", headers=admin)
    assert file.status_code == 200 and file.content == PNG and file.headers["content-type"] == "image/png"

    await client.post(f"{API}/admin/associations/{association_id}/validate", headers=admin)
    _, proxy = await create_user(ctx)
    key = (await client.post(f"{API}/associations/{association_id}/share-keys", headers=headers)).json()[
        "key"
    ]
    await client.post(f"{API}/associations/join", json={"key": key, "function": ""}, headers=proxy)
    # a mandataire reads the association's papers but not the requester's identity document
    assert [d["kind"] for d in (await client.get(url, headers=proxy)).json()] == ["board_composition"]
    assert (await client.get(f"{url}/{board.json()['id']}/file", headers=proxy)).content == PDF
    assert_error(await client.get(f"{url}/{identity.json()['id']}/file", headers=proxy), 403, "forbidden")
    assert_error(await client.get(f"{url}/{board.json()['id']}/file"), 401, "not_authenticated")

    # replace: the old one is archived and points at the new one; archive
    new = await client.post(
        url,
        files={"file": ("bureau.pdf", PDF, "application/pdf")},
        data={"kind": "board_composition", "replaces": board.json()["id"]},
        headers=headers,
    )
    assert new.status_code == 201
    current = (await client.get(url, headers=headers)).json()
    assert {d["id"] for d in current} == {identity.json()["id"], new.json()["id"]}
    archived = (await client.get(url, params={"archived": "true"}, headers=headers)).json()
    old = next(d for d in archived if d["id"] == board.json()["id"])
    assert old["archived_at"] is not None and old["replaced_by_id"] == new.json()["id"]
    response = await client.post(f"{url}/{new.json()['id']}/archive", headers=headers)
    assert response.status_code == 200 and response.json()["archived_at"] is not None
    assert_error(await client.post(f"{url}/{identity.json()['id']}/archive", headers=proxy), 403, "forbidden")
    assert creator.id


# --- board and contacts ------------------------------------------------------------------------


async def test_board_members_and_contacts(ctx: Context, client: Any) -> None:
    _, manager = await create_user(ctx)
    _, admin = await staff_admin(ctx)
    association_id = await create_validated(client, manager, admin)
    url = f"{API}/associations/{association_id}/people"
    added = await client.post(
        url,
        json={
            "kind": "board",
            "name": "Anne Quéré",
            "function": "Présidente",
            "email": "Anne@Exemple.fr",
            "phone": "02 98 00 00 00",
        },
        headers=manager,
    )
    assert added.status_code == 201 and added.json()["email"] == "anne@exemple.fr"
    contact = await client.post(
        url, json={"kind": "contact", "name": "Paul Riou", "phone": "+33 6 00 00 00 00"}, headers=manager
    )
    assert contact.status_code == 201
    assert_error(
        await client.post(url, json={"kind": "board", "name": "X", "phone": "appelez-moi"}, headers=manager),
        400,
        "invalid_request",
    )
    assert_error(
        await client.post(url, json={"kind": "board", "name": " "}, headers=manager), 400, "invalid_request"
    )
    assert_error(
        await client.post(
            url, json={"kind": "board", "name": "X", "email": "pas-une-adresse"}, headers=manager
        ),
        400,
        "invalid_request",
    )

    edited = await client.put(
        f"{url}/{added.json()['id']}", json={"name": "Anne Quéré", "function": "Trésorière"}, headers=manager
    )
    assert edited.status_code == 200 and edited.json()["function"] == "Trésorière"
    assert (await client.delete(f"{url}/{contact.json()['id']}", headers=manager)).status_code == 204
    people = (await client.get(url, headers=manager)).json()
    assert [(p["kind"], p["name"], p["function"]) for p in people] == [("board", "Anne Quéré", "Trésorière")]


# --- a new request after a rejection -----------------------------------------------------------


async def test_a_new_requester_never_reads_the_rejected_requesters_papers(ctx: Context, client: Any) -> None:
    alice, alice_headers = await create_user(ctx)
    _, bob_headers = await create_user(ctx)
    _, admin = await staff_admin(ctx)
    body = {"rna": KNOWN_RNA, "domain": "Sport"}
    association_id = (await client.post(f"{API}/associations", json=body, headers=alice_headers)).json()["id"]
    url = f"{API}/associations/{association_id}/documents"
    identity = (
        await client.post(
            url,
            files={"file": ("id.pdf", PDF, "application/pdf")},
            data={"kind": "identity"},
            headers=alice_headers,
        )
    ).json()["id"]
    board = (
        await client.post(
            url,
            files={"file": ("bureau.pdf", PDF, "application/pdf")},
            data={"kind": "board_composition"},
            headers=alice_headers,
        )
    ).json()["id"]
    await client.post(
        f"{API}/associations/{association_id}/people",
        json={"kind": "board", "name": "Alice Martin", "phone": "02 98 00 00 00"},
        headers=alice_headers,
    )
    rejected = await client.post(
        f"{API}/admin/associations/{association_id}/reject",
        json={"reason": "Pièces illisibles."},
        headers=admin,
    )
    assert rejected.status_code == 200

    # anyone knowing the public RNA may ask again: the row is reused, not the papers
    again = await client.post(f"{API}/associations", json=body, headers=bob_headers)
    assert again.status_code == 201 and again.json()["id"] == association_id
    for document_id in (identity, board):
        response = await client.get(f"{url}/{document_id}/file", headers=bob_headers)
        assert response.status_code in (403, 404), response.text
        archive = await client.post(f"{url}/{document_id}/archive", headers=bob_headers)
        assert_error(archive, 404, "not_found")
    assert (await client.get(url, headers=bob_headers)).json() == []
    assert (await client.get(url, params={"archived": "true"}, headers=bob_headers)).json() == []
    assert (await client.get(f"{API}/associations/{association_id}/people", headers=bob_headers)).json() == []
    # the previous requester has no access left; the town still reads what it decided on
    assert_error(await client.get(f"{url}/{identity}/file", headers=alice_headers), 403, "forbidden")
    assert (await client.get(f"{url}/{identity}/file", headers=admin)).content == PDF
    # validated, the new gestionnaire still does not read the previous requester's identity paper
    await client.post(f"{API}/admin/associations/{association_id}/validate", headers=admin)
    assert_error(await client.get(f"{url}/{identity}/file", headers=bob_headers), 403, "forbidden")
    assert alice.id


async def test_a_rejected_association_cannot_be_validated(ctx: Context, client: Any) -> None:
    _, headers = await create_user(ctx)
    _, admin = await staff_admin(ctx)
    association_id = (
        await client.post(f"{API}/associations", json={"rna": KNOWN_RNA, "domain": "Sport"}, headers=headers)
    ).json()["id"]
    await client.post(
        f"{API}/admin/associations/{association_id}/reject", json={"reason": "Incomplet."}, headers=admin
    )
    response = await client.post(f"{API}/admin/associations/{association_id}/validate", headers=admin)
    assert_error(response, 409, "association_not_pending")
    detail = (await client.get(f"{API}/associations/{association_id}", headers=headers)).json()
    assert detail["status"] == "rejected"


async def test_without_gestionnaire_the_next_member_by_share_key_becomes_gestionnaire(
    ctx: Context, client: Any
) -> None:
    founder, founder_headers = await create_user(ctx)
    joiner, joiner_headers = await create_user(ctx)
    _, admin = await staff_admin(ctx)
    association_id = await create_validated(client, founder_headers, admin)
    key = (
        await client.post(f"{API}/associations/{association_id}/share-keys", headers=founder_headers)
    ).json()["key"]
    removed = await client.delete(f"{API}/associations/{association_id}/members/{founder.id}", headers=admin)
    assert removed.status_code == 204
    response = await client.post(
        f"{API}/associations/join", json={"key": key, "function": ""}, headers=joiner_headers
    )
    assert response.status_code == 200
    assert response.json() == {"association_id": association_id, "role": "gestionnaire"}
    members = (
        await client.get(f"{API}/associations/{association_id}/members", headers=joiner_headers)
    ).json()
    assert [(m["account_id"], m["role"]) for m in members] == [(str(joiner.id), "gestionnaire")]


async def test_times_in_the_towns_offset_and_unknown_status_filters_refused(
    ctx: Context, client: Any
) -> None:
    _, headers = await create_user(ctx)
    _, admin = await staff_admin(ctx)
    association_id = await create_validated(client, headers, admin)
    detail = (await client.get(f"{API}/associations/{association_id}", headers=headers)).json()
    assert detail["validated_at"].endswith("+02:00")  # Paris in May, like the catalog's times
    members = (await client.get(f"{API}/associations/{association_id}/members", headers=headers)).json()
    assert members[0]["activated_at"].endswith("+02:00")
    for path in ("/admin/associations", f"/associations/{association_id}/join-requests"):
        assert_error(
            await client.get(f"{API}{path}", params={"status": "zzz"}, headers=admin), 400, "invalid_request"
        )
    assert (
        await client.get(f"{API}/admin/associations", params={"status": "validated"}, headers=admin)
    ).json()
