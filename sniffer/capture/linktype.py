"""LINKTYPE_ values (stored in capture files) versus DLT_ values (reported by libpcap on Linux).

They differ only for a few historical types; everything else is the same number
(libpcap ``pcap-common.c``: ``linktype_to_dlt`` / ``dlt_to_linktype``).
"""

LINKTYPE_MASK = 0x03FFFFFF
"""The pcap file header's link type field also carries FCS-length bits above these."""

_LINKTYPE_TO_DLT = {
    100: 11,  # LINKTYPE_ATM_RFC1483 -> DLT_ATM_RFC1483
    101: 12,  # LINKTYPE_RAW -> DLT_RAW
    102: 15,  # LINKTYPE_SLIP_BSDOS -> DLT_SLIP_BSDOS
    103: 16,  # LINKTYPE_PPP_BSDOS -> DLT_PPP_BSDOS
    106: 19,  # LINKTYPE_ATM_CLIP -> DLT_ATM_CLIP
}
_DLT_TO_LINKTYPE = {dlt: lt for lt, dlt in _LINKTYPE_TO_DLT.items()}


def linktype_to_dlt(linktype: int) -> int:
    """The DLT value libpcap reports for a file's LINKTYPE value (``101`` -> ``12``)."""
    return _LINKTYPE_TO_DLT.get(linktype, linktype)


def dlt_to_linktype(dlt: int) -> int:
    """The LINKTYPE value to store in a pcap file for a DLT value (``12`` -> ``101``)."""
    return _DLT_TO_LINKTYPE.get(dlt, dlt)
