"""Bodies and answers of the accounts API (msgspec: a bad body is a 400 invalid_request)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec

from portal.text import OneLine

Email = Annotated[OneLine, msgspec.Meta(min_length=3, max_length=320)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Name = Annotated[OneLine, msgspec.Meta(min_length=1, max_length=100)]
# Not bounded here: an empty or over-long token is a bad token, 400 invalid_token (the contract),
# which the services answer; the request body limit bounds its size.
Token = str


class RegisterBody(msgspec.Struct, forbid_unknown_fields=False):
    email: Email
    password: Password
    first_name: Name
    last_name: Name


class TokenBody(msgspec.Struct):
    token: Token


class LoginBody(msgspec.Struct):
    email: Email
    password: Password


class PasswordResetBody(msgspec.Struct):
    email: Email


class PasswordResetConfirmBody(msgspec.Struct):
    token: Token
    password: Password


class ChangePasswordBody(msgspec.Struct):
    current_password: Password
    new_password: Password


class ChangeEmailBody(msgspec.Struct):
    password: Password
    new_email: Email


class DeleteAccountBody(msgspec.Struct):
    password: Password


class AccountOut(msgspec.Struct):
    id: UUID
    email: str
    first_name: str
    last_name: str
    roles: list[str]


class LoginOut(msgspec.Struct):
    token: str
    account: AccountOut


class MembershipOut(msgspec.Struct):
    association_id: UUID
    role: str


class MeOut(msgspec.Struct):
    id: UUID
    email: str
    first_name: str
    last_name: str
    roles: list[str]
    memberships: list[MembershipOut]
    civility: str = ""
    phone: str = ""
    address_line: str = ""
    postal_code: str = ""
    city: str = ""
    national_identity_linked: bool = False


class ProfileBody(msgspec.Struct, forbid_unknown_fields=True):
    """PATCH /me: only the fields given change."""

    first_name: str | msgspec.UnsetType = msgspec.UNSET
    last_name: str | msgspec.UnsetType = msgspec.UNSET
    civility: str | msgspec.UnsetType = msgspec.UNSET
    phone: str | msgspec.UnsetType = msgspec.UNSET
    address_line: str | msgspec.UnsetType = msgspec.UNSET
    postal_code: str | msgspec.UnsetType = msgspec.UNSET
    city: str | msgspec.UnsetType = msgspec.UNSET


class Empty(msgspec.Struct):
    pass
