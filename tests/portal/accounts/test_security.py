"""The app's password hasher is argon2id with the library's recommended parameters (the tests'
own process swaps in cheap ones, tests/conftest.py, so this reads the one the app was built with)."""

from argon2 import Type
from argon2.profiles import RFC_9106_LOW_MEMORY

from tests.conftest import PRODUCTION_HASHER


def test_passwords_are_hashed_with_argon2id_and_the_recommended_parameters() -> None:
    assert PRODUCTION_HASHER.type is Type.ID
    assert (PRODUCTION_HASHER.time_cost, PRODUCTION_HASHER.memory_cost, PRODUCTION_HASHER.parallelism) == (
        RFC_9106_LOW_MEMORY.time_cost,
        RFC_9106_LOW_MEMORY.memory_cost,
        RFC_9106_LOW_MEMORY.parallelism,
    )
    assert PRODUCTION_HASHER.hash("Un-mot-de-passe-1").startswith("$argon2id$v=19$m=65536,t=3,p=4$")
