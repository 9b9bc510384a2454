import pytest

from flasher.fastboot import FastbootDevice
from flasher.virtual.faults import BadFault, Faults, apply_fault


def test_fault_specs_set_the_hooks():
    faults = Faults()
    for spec in ("stall:flash:system=2.5", "fail:set_active=busy now", "drop-on:fetch:=2", "drop-after:1000",
                 "discard:system_b", "boot-fails:b", "line-errors:50000", "answer:serialno=../a=b",
                 "snapshot:merging"):
        apply_fault(faults, spec)
    assert faults.stall_for("flash:system_b") == 2.5
    assert faults.failure_for("set_active:b") == "busy now"
    assert (faults.drop_on_command, faults.drop_on_count) == ("fetch:", 2)
    assert faults.drop_after_bytes == 1000
    assert faults.discard_flash == {"system_b"} and faults.boot_fails == {"b"}
    assert faults.line_error_every == 50000
    assert faults.answers == {"serialno": "../a=b"}
    assert faults.snapshot_update == "merging"


def test_an_answer_fault_overrides_getvar_and_getvar_all(running_handset):
    running_handset.handset.faults.answers["serialno"] = "../../x\x1b"
    with FastbootDevice.open(running_handset.address) as device:
        assert device.getvar("serialno") == "../../x\x1b"
        assert device.getvar_all()["serialno"] == "../../x\x1b"
        assert device.getvar("product") == running_handset.handset.profile.product


@pytest.mark.parametrize("spec", ["explode:now", "stall:flash=soon", "stall:=2", "drop-after:lots", "discard:",
                                  "answer:=x", "snapshot:exploded"])
def test_bad_fault_specs_are_named_errors(spec):
    with pytest.raises(BadFault):
        apply_fault(Faults(), spec)
