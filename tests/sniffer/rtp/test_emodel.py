"""E-model (ITU-T G.107) worked values."""

import pytest

from sniffer.rtp import emodel
from sniffer.rtp.burst import burst_ratio
from sniffer.rtp.jitterbuffer import JB_DEPTH_MS


def test_defaults_give_93_2() -> None:
    """G.107: all default values lead to R = 93.2 (Ro 94.77, Is 1.41, Id 0.15)."""
    assert pytest.approx(94.77, abs=0.01) == emodel._RO
    assert emodel.delay_impairment(0) == pytest.approx(0.15, abs=0.01)
    assert emodel.r_factor(0, 25.1, 0, 1, 0) == pytest.approx(93.2, abs=0.01)


def test_r_to_mos() -> None:
    assert emodel.r_to_mos(93.2) == pytest.approx(4.41, abs=0.005)
    assert emodel.r_to_mos(82.2) == pytest.approx(4.10, abs=0.005)
    assert emodel.r_to_mos(50) == pytest.approx(2.575)  # 1 + 1.75 + 50 * -10 * 50 * 7e-6
    assert emodel.r_to_mos(-5) == 1.0 and emodel.r_to_mos(0) == 1.0
    assert emodel.r_to_mos(5) == 1.0  # the cubic gives 0.992 there
    assert emodel.r_to_mos(100) == 4.5 and emodel.r_to_mos(120) == 4.5


def test_g729a_no_loss() -> None:
    assert emodel.r_factor(11, 19.0, 0, 1, 0) == pytest.approx(82.2, abs=0.01)


def test_g711_plc_5pct_random_loss() -> None:
    """Ie,eff = 95 * 5 / (5 + 25.1) = 15.78: R 77.42, MOS 3.92."""
    assert emodel.effective_ie(0, 25.1, 5, 1) == pytest.approx(15.78, abs=0.005)
    r = emodel.r_factor(0, 25.1, 5, 1, 0)
    assert r == pytest.approx(93.21 - 15.78, abs=0.01)
    assert emodel.r_to_mos(r) == pytest.approx(3.92, abs=0.005)


def test_bursty_loss_hurts_more() -> None:
    """BurstR 2: Ie,eff = 95 * 5 / (2.5 + 25.1) = 17.21: R 76.0, MOS 3.86."""
    assert emodel.effective_ie(0, 25.1, 5, 2) == pytest.approx(17.21, abs=0.005)
    r = emodel.r_factor(0, 25.1, 5, 2, 0)
    assert r == pytest.approx(76.0, abs=0.01)
    assert emodel.r_to_mos(r) == pytest.approx(3.86, abs=0.005)


def test_g711_without_plc() -> None:
    """1 % loss: Ie,eff = 95 / 5.3 = 17.92: R 75.3, MOS 3.83."""
    assert emodel.effective_ie(0, 4.3, 1, 1) == pytest.approx(95 / 5.3, abs=1e-9)
    r = emodel.r_factor(0, 4.3, 1, 1, 0)
    assert r == pytest.approx(75.28, abs=0.01)
    assert emodel.r_to_mos(r) == pytest.approx(3.83, abs=0.005)


def test_loss_clamped() -> None:
    assert emodel.effective_ie(11, 19, -3, 1) == 11
    assert emodel.effective_ie(11, 19, 250, 1) == emodel.effective_ie(11, 19, 100, 1)
    assert emodel.effective_ie(0, 25.1, 5, 0) == emodel.effective_ie(0, 25.1, 5, 1)


def test_absolute_delay_impairment() -> None:
    """Idd: 0 up to 100 ms; X = log2(Ta/100): Ta 200 -> X 1 -> 25 (2^(1/6) - 3 (730/729)^(1/6) + 2)."""
    assert emodel.absolute_delay_impairment(100) == 0.0
    assert emodel.absolute_delay_impairment(200) == pytest.approx(3.044, abs=0.001)
    assert emodel.absolute_delay_impairment(400) == pytest.approx(24.07, abs=0.01)


def test_delay_lowers_r() -> None:
    rs = [emodel.r_factor(0, 25.1, 0, 1, t) for t in (0, 50, 100, 150, 200, 300, 400)]
    assert rs == sorted(rs, reverse=True)
    assert emodel.r_factor(0, 25.1, 0, 1, 150) == pytest.approx(89.5, abs=0.1)


def test_mos_for_clean_g711() -> None:
    delay = emodel.one_way_delay_ms("PCMU", 0.5, None)
    assert delay == 20 + JB_DEPTH_MS
    mos = emodel.mos_for("PCMU", 0.0, 1.0, 0.5, 0.0, None)
    assert mos == pytest.approx(emodel.r_to_mos(emodel.r_factor(0, 25.1, 0, 1, delay)))
    assert 4.35 < mos < 4.41


def test_mos_for_adds_jitter_buffer_loss_and_large_jitter() -> None:
    base = emodel.mos_for("PCMA", 1.0, 1.0, 1.0, 0.0, 20)
    assert emodel.mos_for("PCMA", 0.5, 1.0, 1.0, 0.5, 20) == pytest.approx(base)
    assert emodel.one_way_delay_ms("PCMA", 80.0, 20) == 20 + 160
    assert emodel.mos_for("PCMA", 1.0, 1.0, 80.0, 0.0, 20) < base
    assert emodel.one_way_delay_ms("G723", 0, None) == 30 + 7.5 + JB_DEPTH_MS


def test_mos_for_codecs() -> None:
    g711 = emodel.mos_for("PCMU", 0, 1, 0, 0, 20)
    g729 = emodel.mos_for("G729", 0, 1, 0, 0, 20)
    g723 = emodel.mos_for("G723", 0, 1, 0, 0, None)
    assert g711 is not None and g729 is not None and g723 is not None
    assert g711 > g729 > g723
    # no invented value for an encoding without impairment values (was: rated as G.711)
    assert emodel.mos_for("x-new-codec", 0, 1, 0, 0, 20) is None


def test_burst_ratio() -> None:
    assert burst_ratio(0, 0, 100) == 1.0
    assert burst_ratio(10, 1, 0) == 1.0
    assert burst_ratio(10, 1, 990) == pytest.approx(1 / (1 / 990 + 1 / 10))
    # random loss: bursts = lost * (1 - Ppl) gives 1
    assert burst_ratio(100, 90, 900) == pytest.approx(1.0)
    # every other packet lost: p = q = 1 -> 0.5
    assert burst_ratio(50, 50, 50) == pytest.approx(0.5)
    assert burst_ratio(5, 0, 100) == burst_ratio(5, 1, 100)
