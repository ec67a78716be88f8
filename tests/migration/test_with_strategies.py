"""The Xen -> KVM conversion on generated SYSTEM hives (``winmigrate.testing.system_hives``):
any number of control sets (numbers of 10 and more included), CDD or DriverDatabase style, with or
without Xen drivers. The same invariants as on the fixtures: the converted hive passes check(),
its logical diff is the plan, no filter names a Xen or a disabled service, the storage driver is
ready in every control set in use, and converting again changes nothing."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

import winmigrate
from tests.helpers import assert_written_ok
from tests.migration.tools import (
    assert_diff_is_plan,
    dump,
    filter_problems,
    writable_copy,
    xen_filter_entries,
)
from winmigrate import testing as ws
from winmigrate.convert import ConversionOptions, FirstBootService, plan_xen_to_kvm, storage_ready

CONVERSIONS = settings(max_examples=40, deadline=None,
                       suppress_health_check=[HealthCheck.too_slow])
FIRSTBOOT = r"C:\Windows\KvmConv\kvmconv.exe"


@CONVERSIONS
@given(ws.system_hives(max_control_sets=3, max_nics=2))
def test_generated_guests_convert(generated: tuple[ws.GeneratedHive, ws.SystemDescription]
                                  ) -> None:
    before, _description = generated
    hive = writable_copy(before)
    options = ConversionOptions(first_boot=FirstBootService(FIRSTBOOT))
    plan = plan_xen_to_kvm(hive, None, options)
    assert dump(hive) == dump(before)  # planning never writes
    assert plan.apply() == plan.changes
    after = winmigrate.Hive.from_bytes(hive.to_bytes())
    assert_written_ok(after, unreferenced=False)
    assert_diff_is_plan(dump(before), dump(after), plan.changes)
    assert xen_filter_entries(after) == []
    assert filter_problems(after) <= filter_problems(before)
    assert storage_ready(after) == []
    assert plan.apply() == ()
    assert plan_xen_to_kvm(hive, None, options).changes == ()
