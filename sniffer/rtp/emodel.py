"""ITU-T G.107 E-model (narrowband, 06/2015 edition) for listening/conversational MOS estimates.

All parameters other than the equipment impairment, packet loss and delay keep the G.107
default values (Table 3), which gives R = 93.2 for a clean G.711 connection without delay.
Formulas and the delay estimate used by :func:`mos_for` are described in docs/QUALITY.md.
"""

import math

from sniffer.rtp.codecs import default_ptime_ms, impairment_for, lookahead_ms
from sniffer.rtp.jitterbuffer import JB_DEPTH_MS

# G.107 Table 3 default values
SLR = 8.0  # send loudness rating, dB
RLR = 2.0  # receive loudness rating, dB
STMR = 15.0  # sidetone masking rating, dB
LSTR = 18.0  # listener sidetone rating, dB
DS = 3.0  # D-value of telephone, send side
TELR = 65.0  # talker echo loudness rating, dB
WEPL = 110.0  # weighted echo path loss, dB
QDU = 1.0  # number of quantization distortion units
PS = 35.0  # room noise at the send side, dB(A)
PR = 35.0  # room noise at the receive side, dB(A)
NC = -70.0  # circuit noise referred to the 0 dBr point, dBm0p
NFOR = -64.0  # noise floor at the receive side, dBmp
A_FACTOR = 0.0  # advantage factor


def _log10_sum(*levels: float) -> float:
    return 10.0 * math.log10(sum(10.0 ** (x / 10.0) for x in levels))


def _basic() -> tuple[float, float, float]:
    """(Ro, No, Iolr + Iq): the delay-independent part of the defaults."""
    olr = SLR + RLR
    nfo = NFOR + RLR
    pre = PR + 10.0 * math.log10(1.0 + 10.0 ** ((10.0 - LSTR) / 10.0))
    nor = RLR - 121.0 + pre + 0.008 * (pre - 35.0) ** 2
    nos = PS - SLR - DS - 100.0 + 0.004 * (PS - olr - DS - 14.0) ** 2
    no = _log10_sum(NC, nos, nor, nfo)
    ro = 15.0 - 1.5 * (SLR + no)
    xolr = olr + 0.2 * (64.0 + no - RLR)
    iolr = 20.0 * (math.pow(1.0 + (xolr / 8.0) ** 8, 0.125) - xolr / 8.0)
    q = 37.0 - 15.0 * math.log10(QDU)
    g = 1.07 + 0.258 * q + 0.0602 * q * q
    y = (ro - 100.0) / 15.0 + 46.0 / 8.4 - g / 9.0
    z = 46.0 / 30.0 - g / 40.0
    iq = 15.0 * math.log10(1.0 + 10.0**y + 10.0**z)
    return ro, no, iolr + iq


_RO, _NO, _IOLR_IQ = _basic()


def _ist(t: float) -> float:
    """Sidetone impairment Ist for mean one-way delay ``t`` (ms)."""
    stmro = -10.0 * math.log10(10.0 ** (-STMR / 10.0) + math.exp(-t / 4.0) * 10.0 ** (-TELR / 10.0))
    return (
        12.0 * math.pow(1.0 + ((stmro - 13.0) / 6.0) ** 8, 1.0 / 8)
        - 28.0 * math.pow(1.0 + ((stmro + 1.0) / 19.4) ** 35, 1.0 / 35)
        - 13.0 * math.pow(1.0 + ((stmro - 3.0) / 33.0) ** 13, 1.0 / 13)
        + 29.0
    )


def talker_echo_impairment(t: float) -> float:
    """Idte for mean one-way delay ``t`` (ms) with the default TELR."""
    terv = (
        TELR
        - 40.0 * math.log10((1.0 + t / 10.0) / (1.0 + t / 150.0))
        + 6.0 * math.exp(-0.3 * t * t)
    )
    roe = -1.5 * (_NO - RLR)
    re = 80.0 + 2.5 * (terv - 14.0)
    return ((roe - re) / 2.0 + math.sqrt((roe - re) ** 2 / 4.0 + 100.0) - 1.0) * (
        1.0 - math.exp(-t)
    )


def listener_echo_impairment(tr: float) -> float:
    """Idle for round-trip delay ``tr`` (ms) with the default WEPL."""
    rle = 10.5 * (WEPL + 7.0) * math.pow(tr + 1.0, -0.25)
    return (_RO - rle) / 2.0 + math.sqrt((_RO - rle) ** 2 / 4.0 + 169.0)


def absolute_delay_impairment(ta: float) -> float:
    """Idd for absolute one-way delay ``ta`` (ms): 0 up to 100 ms."""
    if ta <= 100.0:
        return 0.0
    x = math.log10(ta / 100.0) / math.log10(2.0)
    return 25.0 * (
        math.pow(1.0 + x**6, 1.0 / 6) - 3.0 * math.pow(1.0 + (x / 3.0) ** 6, 1.0 / 6) + 2.0
    )


def delay_impairment(t: float) -> float:
    """Id = Idte + Idle + Idd for one-way delay ``t`` ms (T = Ta = t, Tr = 2t)."""
    t = max(t, 0.0)
    return (
        talker_echo_impairment(t) + listener_echo_impairment(2.0 * t) + absolute_delay_impairment(t)
    )


def effective_ie(ie: float, bpl: float, loss_pct: float, burst_ratio: float) -> float:
    """Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl)."""
    ppl = min(max(loss_pct, 0.0), 100.0)
    if ppl == 0.0:
        return ie
    burst = burst_ratio if burst_ratio > 0.0 else 1.0
    return ie + (95.0 - ie) * ppl / (ppl / burst + bpl)


def r_factor(
    ie: float, bpl: float, loss_pct: float, burst_ratio: float, one_way_delay_ms: float
) -> float:
    """Transmission rating R = Ro - Is - Id - Ie,eff + A (G.107 defaults otherwise)."""
    t = max(one_way_delay_ms, 0.0)
    i_s = _IOLR_IQ + _ist(t)
    return _RO - i_s - delay_impairment(t) - effective_ie(ie, bpl, loss_pct, burst_ratio) + A_FACTOR


def r_to_mos(r: float) -> float:
    """G.107 Annex B: MOS = 1 + 0.035 R + R (R - 60) (100 - R) 7e-6, clamped to 1..4.5."""
    if r <= 0.0:
        return 1.0
    if r >= 100.0:
        return 4.5
    # the cubic dips slightly below 1 for 0 < R < 6.5: clamp
    return max(1.0, 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6)


def one_way_delay_ms(encoding: str, jitter_ms: float, ptime_ms: float | None) -> float:
    """Delay estimate: packetisation + codec look-ahead + playout buffer (max(2 J, nominal))."""
    ptime = ptime_ms if ptime_ms is not None and ptime_ms > 0 else default_ptime_ms(encoding)
    return ptime + lookahead_ms(encoding) + max(2.0 * jitter_ms, JB_DEPTH_MS)


def mos_for(
    encoding: str,
    loss_pct: float,
    burst_ratio: float,
    jitter_ms: float,
    jb_loss_pct: float,
    ptime_ms: float | None,
) -> float | None:
    """MOS of a stream: network loss plus playout-buffer discards, delay from
    :func:`one_way_delay_ms`; None for an encoding without impairment values."""
    impairment = impairment_for(encoding)
    if impairment is None:
        return None
    ie, bpl = impairment
    ppl = min(max(loss_pct, 0.0) + max(jb_loss_pct, 0.0), 100.0)
    delay = one_way_delay_ms(encoding, jitter_ms, ptime_ms)
    return r_to_mos(r_factor(ie, bpl, ppl, burst_ratio, delay))
