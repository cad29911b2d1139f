"""Profiles: the growth table, streams, daily curve, widths and bloat policy of a simulated application.

A profile is a TOML file (``profiles/NAME.toml``). `load_profile` validates it completely and raises
`ProfileError` naming the file, the key and what is wrong. `types` holds what a validated profile is made of,
`load` reads and validates the files.
"""

from growth_sim.profile.load import available_profiles, load_profile, load_recorded_profile, profile_path
from growth_sim.profile.types import (
    HOURS_PER_WEEK,
    BloatTarget,
    Derived,
    Lagged,
    Milestone,
    Profile,
    SteadySettings,
    TextWidth,
    Width,
    hour_of_label,
)

__all__ = [
    "HOURS_PER_WEEK",
    "BloatTarget",
    "Derived",
    "Lagged",
    "Milestone",
    "Profile",
    "SteadySettings",
    "TextWidth",
    "Width",
    "available_profiles",
    "hour_of_label",
    "load_profile",
    "load_recorded_profile",
    "profile_path",
]
