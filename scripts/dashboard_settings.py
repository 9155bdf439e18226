"""Prepare the local ZenML dashboard so that ``zenml login --local`` opens on the project.

    python -m scripts.dashboard_settings apply   # what scripts/quickstart.sh runs
    python -m scripts.dashboard_settings show    # print the current settings as JSON
    python -m scripts.dashboard_settings undo    # back to ZenML's own defaults

ZenML 0.98's dashboard (``zenml/zen_server/dashboard``) sends the user to its account form
("Add your account details": name, email, and a newsletter box ticked by default) while the
user's ``email_opted_in`` is unset or ``user_metadata`` lacks ``finished_onboarding_survey``;
it fetches announcements and release notes from raw.githubusercontent.com when the server
settings ``display_announcements`` / ``display_updates`` are on; and it floats a "get started"
checklist until the server's onboarding state holds ``oss_onboarding_completed``. ``apply``
answers the form for the local ``default`` user with email opt-in **off** (no email is given
or sent anywhere), marks the survey finished, turns announcements and update notices off
(they cannot load offline) and completes the checklist. These are the same store calls the
server's own endpoints make (``PUT /api/v1/users/{id}``, ``PUT /api/v1/settings``).

Only the local store is changed: the embedded SQLite store, which the ``zenml login --local``
server serves. A client connected to a remote ZenML server is left alone. ``undo`` unsets
``email_opted_in``, removes ``finished_onboarding_survey`` and turns announcements and update
notices back on, so that the dashboard asks again. ZenML only ever adds to the onboarding
checklist's completed steps (there is no store call that removes one), so ``undo`` leaves the
checklist as it is.

Exit code 0 on success; 1 when there is no local store to ``show`` or ``undo`` (``apply``
then only says so, and exits 0: a remote server's settings are its administrator's).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

SURVEY_KEY = "finished_onboarding_survey"
CHECKLIST_DONE = "oss_onboarding_completed"


class NoLocalStore(RuntimeError):
    """The client is connected to a remote ZenML server: there is no local dashboard to set."""


def local_store() -> Any:
    """The SQL store behind the local dashboard.

    Returns:
        The client's own store when it is the embedded SQL store; the default local SQLite
        store when the client is logged in to the ``zenml login --local`` server (which
        serves that same database).

    Raises:
        NoLocalStore: When the client is connected to any other ZenML server.
    """
    from zenml.client import Client
    from zenml.config.global_config import GlobalConfiguration
    from zenml.enums import StoreType
    from zenml.utils.server_utils import connected_to_local_server
    from zenml.zen_stores.base_zen_store import BaseZenStore

    store = Client().zen_store
    if store.type == StoreType.SQL:
        return store
    if connected_to_local_server():
        return BaseZenStore.create_store(
            GlobalConfiguration().get_default_store(), skip_default_registrations=True
        )
    raise NoLocalStore(
        f"the ZenML client is connected to {store.url}, not to the local store: the local "
        "dashboard's settings were not changed (run `zenml logout` first)"
    )


def current(store: Any) -> dict[str, Any]:
    """The settings this script manages, as the dashboard reads them.

    Args:
        store: From :func:`local_store`.

    Returns:
        ``{"user", "email_opted_in", "finished_onboarding_survey", "display_announcements",
        "display_updates", "onboarding_state"}``.
    """
    from zenml.constants import DEFAULT_USERNAME

    user = store.get_user(DEFAULT_USERNAME, include_private=True)
    settings = store.get_server_settings()
    return {
        "user": user.name,
        "email_opted_in": user.email_opted_in,
        SURVEY_KEY: bool(user.user_metadata.get(SURVEY_KEY)),
        "display_announcements": settings.display_announcements,
        "display_updates": settings.display_updates,
        "onboarding_state": sorted(store.get_onboarding_state()),
    }


def apply(store: Any) -> dict[str, Any]:
    """Answer the dashboard's account form with email opt-in off; announcements off.

    Args:
        store: From :func:`local_store`.

    Returns:
        The settings afterwards (see :func:`current`).
    """
    from zenml.constants import DEFAULT_USERNAME
    from zenml.models import ServerSettingsUpdate, UserUpdate

    user = store.get_user(DEFAULT_USERNAME, include_private=True)
    store.update_user(
        user.id,
        UserUpdate(email_opted_in=False, user_metadata={**user.user_metadata, SURVEY_KEY: True}),
    )
    store.update_server_settings(
        ServerSettingsUpdate(display_announcements=False, display_updates=False)
    )
    store.update_onboarding_state({CHECKLIST_DONE})
    return current(store)


def undo(store: Any) -> dict[str, Any]:
    """Restore ZenML's defaults: the account form is asked again, announcements are shown.

    Args:
        store: From :func:`local_store`.

    Returns:
        The settings afterwards (see :func:`current`).
    """
    from zenml.constants import DEFAULT_USERNAME
    from zenml.models import ServerSettingsUpdate, UserUpdate

    user = store.get_user(DEFAULT_USERNAME, include_private=True)
    metadata = {k: v for k, v in user.user_metadata.items() if k != SURVEY_KEY}
    store.update_user(user.id, UserUpdate(email_opted_in=None, user_metadata=metadata))
    store.update_server_settings(
        ServerSettingsUpdate(display_announcements=True, display_updates=True)
    )
    return current(store)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``apply``, ``show`` or ``undo``; prints the resulting settings as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("apply", "show", "undo"))
    args = parser.parse_args(argv)
    try:
        store = local_store()
    except NoLocalStore as exc:
        print(f"dashboard settings: {exc}", file=sys.stderr)
        return 0 if args.action == "apply" else 1
    action = {"apply": apply, "show": current, "undo": undo}[args.action]
    print(json.dumps(action(store), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
