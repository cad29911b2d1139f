"""The private cluster's settings for bulk growth follow the machine's memory, within their bounds."""

from growth_sim.db.tuning import MB, bulk_growth


def _values(memory: int) -> dict[str, str]:
    return {s.name: s.value for s in bulk_growth(memory)}


def test_memory_settings_follow_the_machine_within_bounds():
    assert _values(512 * MB)["shared_buffers"] == "128MB"  # the floor: PostgreSQL's own default
    assert _values(512 * MB)["maintenance_work_mem"] == "64MB"
    assert _values(16 * 1024 * MB)["shared_buffers"] == "2048MB"
    assert _values(16 * 1024 * MB)["maintenance_work_mem"] == "512MB"
    assert _values(256 * 1024 * MB)["shared_buffers"] == "4096MB"  # the ceiling
    assert _values(256 * 1024 * MB)["maintenance_work_mem"] == "1024MB"


def test_every_setting_says_why():
    for setting in bulk_growth(8 * 1024 * MB):
        assert len(setting.reason) > 20, setting.name
