"""Link-layer header types (tcpdump.org/linktypes.html) as reported by pypcap (DLT values),
and the EtherType / address-family constants the decoder dispatches on."""

DLT_NULL = 0
DLT_EN10MB = 1
DLT_PPP = 9
DLT_RAW_12 = 12
DLT_RAW_14 = 14
DLT_PPP_HDLC = 50
DLT_RAW = 101
DLT_C_HDLC = 104
DLT_LOOP = 108
DLT_LINUX_SLL = 113
DLT_IPV4 = 228
DLT_IPV6 = 229
DLT_LINUX_SLL2 = 276

SUPPORTED_LINKTYPES = frozenset(
    {
        DLT_NULL,
        DLT_EN10MB,
        DLT_PPP,
        DLT_RAW_12,
        DLT_RAW_14,
        DLT_PPP_HDLC,
        DLT_RAW,
        DLT_C_HDLC,
        DLT_LOOP,
        DLT_LINUX_SLL,
        DLT_IPV4,
        DLT_IPV6,
        DLT_LINUX_SLL2,
    }
)

ETH_P_IPV4 = 0x0800
ETH_P_ARP = 0x0806
ETH_P_TEB = 0x6558
"""Transparent Ethernet Bridging (GRE payload is an Ethernet frame)."""
ETH_P_8021Q = 0x8100
ETH_P_8021AD = 0x88A8
ETH_P_QINQ_9100 = 0x9100
ETH_P_IPV6 = 0x86DD
ETH_P_PPP = 0x880B
ETH_P_MPLS_UC = 0x8847
ETH_P_MPLS_MC = 0x8848
ETH_P_PPPOE_DISC = 0x8863
ETH_P_PPPOE_SESS = 0x8864
ETH_P_ERSPAN2 = 0x88BE
ETH_P_ERSPAN3 = 0x22EB
ETH_P_MIN = 0x0600
"""Below this the Ethernet type field is an 802.3 length (LLC follows: STP, CDP...)."""

VLAN_TPIDS = frozenset({ETH_P_8021Q, ETH_P_8021AD, ETH_P_QINQ_9100})

PPP_IPV4 = 0x0021
PPP_IPV6 = 0x0057

AF_INET = 2
AF_INET6_VALUES = frozenset({10, 24, 28, 30})
"""AF_INET6 on Linux (10), NetBSD/OpenBSD (24), FreeBSD (28), macOS (30)."""
