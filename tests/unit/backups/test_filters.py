"""The backup filters against configurations others published (data/README.md names each
source), netconan's list of secret lines, and random passwords in every known secret form.

Each sample's secrets are listed here by hand, independently of the filters' rules: what a
reader sees is a secret in the file (for Oxidized's samples, Oxidized's own "fail" lists
are included). None may survive; every line that held none must come out untouched.
"""

from __future__ import annotations

import random
import string
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from automator.backups._filters import (
    PLATFORMS,
    SECRET_MARK,
    ScrubResult,
    UnknownPlatform,
    drop_volatile,
    find_secrets,
    scrub,
    scrub_secrets,
)
from automator.errors import AutomatorError

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Sample:
    secrets: tuple[str, ...]  # strings that must not survive
    kept: tuple[str, ...] = ()  # whole lines the output must hold (masked lines included)
    volatile: tuple[str, ...] = ()  # whole lines the output must not hold


OXIDIZED_PLACEHOLDER = "AAAAAAAAAABBBBBBBBBB"

SAMPLES: dict[str, Sample] = {
    "cisco_xe/oxidized_c9200l_17.09.cfg": Sample(
        secrets=(
            OXIDIZED_PLACEHOLDER,
            "SECRET",  # Oxidized's fail list: SECRET, public, AAAAAAAAAABBBBBBBBBB
            "community public",
            "$9$xxxSECRET_ENABLExxxxxxxxxxxxxx",
            "$9$xxxxxxxxxxSECRET_OXIDIZEDxxxxxxxxx",
        ),
        kept=(
            "enable secret 9 <removed>",
            "username oxidized secret 9 <removed>",
            " client 10.10.20.20 server-key 7 <removed>",
            "snmp-server community <removed> RW 5",
            "snmp-server host 10.42.0.35 vrf Mgmt-vrf informs version 2c <removed>  tty vtp",
            # an SNMPv3 user name is an identity, not a secret
            "snmp-server host 10.42.0.36 vrf Mgmt-vrf informs version 3 auth oxidized  bfd "
            "bridge transceiver",
            "service password-encryption",
        ),
        volatile=(
            "Building configuration...",
            "Current configuration : 20546 bytes",
            "! Last configuration change at 09:37:40 CEST Tue Aug 20 2024 by oxidized",
            "! NVRAM config last updated at 09:37:37 CEST Tue Aug 20 2024 by oxidized",
        ),
    ),
    "cisco_xe/oxidized_c9800_17.06.cfg": Sample(
        secrets=(  # Oxidized's fail list
            "SECRET_REMOVED",
            "REMOVED_SECRET",
            "WLANSECR3T",
            "WLAN SECR3T",
            "7df35f90c92ecff2a803e79577b85e978edc0a76404f6cfb534df8d9f9f67beb",
            "DOT1XPASSW0RD",
            "MGMTPASSW0RD",
            "MGMTSECR3T",
            "DOT1X PASSW0RD",
            "MGMT PASSW0RD",
            "MGMT SECR3T",
        ),
        kept=(
            " security wpa psk set-key ascii 0 <removed>",
            " mgmtuser username apmgmtuser password 0 <removed> secret 0 <removed>",
            " dot1x username dot1x-username password 0 <removed>",
            "ip http authentication aaa",
        ),
        volatile=("Current configuration : 19796 bytes",),
    ),
    "cisco_xe/oxidized_asr920_16.8.cfg": Sample(
        secrets=("ABCDEFGH1234", "secret 5 password"),
        kept=(
            " server-private 111.111.111.111 key 7 <removed>",
            "enable secret 5 <removed>",
            "username root secret 5 <removed>",
            "security passwords min-length 8",
            "  hidekeys",
        ),
        volatile=("! Last configuration change at 11:54:34 UTC Thu Aug 29 2024 by 123456",),
    ),
    "cisco_nxos/oxidized_c93180yc_10.4.cfg": Sample(
        secrets=("AAAAAAAAAABBBBBBBBBBCCCCCCCCCC",),
        kept=(
            "snmp-server user admin network-admin auth md5 <removed> priv aes-128 <removed> "
            "localizedV2key",
            "!Command: show running-config",
        ),
        volatile=(
            "!Time: Mon Dec  1 14:37:04 2025",
            "!Running configuration last done at: Tue Sep 30 09:02:26 2025",
        ),
    ),
    "cisco_nxos/oxidized_n5548_7.3.cfg": Sample(
        secrets=(), volatile=("!Time: Sat Mar 28 20:40:06 2026",)
    ),
    "cisco_nxos/napalm_nxos_ssh_running.cfg": Sample(
        secrets=(
            "$5$aH4ttsPk$kNH7qXBaegskBUekuymPzaL5Q0Vh/mQVSdw4tQ0AcU7",
            "$5$tGpa9bmJ$7I3Bg.0yqiweZ09vmj.gb7Q2antjGVs9J0nWSawvP/4",
            "0xd1e3bf7019f3a9c3ee4dccd381f0e4f3",
            "0x9e902c388e9b4c616e7c7c98d1079325",
            "bogus123",
        ),
        kept=(
            "username admin password 5 <removed>  role network-admin",
            "snmp-server community <removed> group network-operator",
            "no password strength-check",
            "username pyclass passphrase  lifetime 99999 warntime 14 gracetime 3",
        ),
        volatile=("!Time: Sun Aug  6 16:43:18 2017",),
    ),
    "cisco_nxos/batfish_nxos_ssh.cfg": Sample(secrets=(), kept=("ssh key rsa 2048",)),
    "cisco_asa/oxidized_asa5512_9.12.cfg": Sample(
        secrets=(  # Oxidized's fail list
            "AAAAAAAAAABBBBBBBBBBCCCCCCCCCC",
            "$sha512$5000$AAAAAAAAAABBBBBBBBBBCCCCCCCCCC==",
        ),
        kept=(
            "enable password <removed> pbkdf2",
            "passwd <removed> encrypted",
            "username oxidized password <removed> pbkdf2",
            " key <removed>",
            "password encryption aes",
            ": Serial Number: FCH17AAAAAA",
            ": end",
        ),
        volatile=(
            ": Saved",
            ": Written by oxidzed at 20:03:32.236 CEST Mon Oct 21 2024",
            "Cryptochecksum:dddddddddffffffffffffffeeeeeeeee",
        ),
    ),
    "cisco_asa/batfish_asa_ssh.cfg": Sample(
        secrets=(), kept=("ssh key-exchange group dh-group1-sha1",)
    ),
    "arista_eos/oxidized_7050sx3_4.29.cfg": Sample(
        secrets=("string123", "string456", "publiccom"),  # Oxidized's fail list
        kept=(
            "snmp-server community <removed> ro",
            "snmp-server host 10.1.2.3 version 1 <removed>",
            "! device: eos-test-01 (DCS-7050SX3-48YC8, EOS-4.29.2F)",
        ),
    ),
    "arista_eos/napalm_eos_startup.cfg": Sample(
        secrets=(
            "$1$zr7sHZaW$WagNykw1d5wjy4ZhtMgUS/",
            "$1$VoQBHXed$4z2.EoAeoIY2SFme/Pz3Q/",
            "$1$l/6gq.Qs$ifURvKWUYzLm0RqmRgr.W1",
        ),
        kept=(
            "aaa root secret 5 <removed>",
            "username vagrant privilege 15 role network-admin secret 5 <removed>",
            "! boot system flash:/vEOS-lab.swi",
        ),
        volatile=("! Startup-config last modified at  Sun Sep 11 18:35:01 2016 by root",),
    ),
    "arista_eos/batfish_arista_username.cfg": Sample(
        secrets=(
            "$1$5C7CVuxv$nnhvQ21cl8fsuw/HTaYpA/",
            "$6$RMxgK5ALGIf.nWEC$tHuKCyfNtJMCY561P52dTzHUmYMmLxb/Mxik.j3vMUs8lMCPocM00/NAS."
            "SN6GCWx7d/vQIgxnClyQLAb7n3x0",
        ),
        kept=("username noc secret sha512 <removed>", "no aaa root"),
    ),
    "cisco_ios/napalm_ios_running.cfg": Sample(
        secrets=("enable password cisco", "password 0 cisco"),
        kept=(
            "enable password <removed>",
            "username cisco privilege 15 password 0 <removed>",
            "hostname CSR1",
        ),
        volatile=("Building configuration...", "Current configuration : 1366 bytes"),
    ),
    "cisco_ios/batfish_cisco_crypto.cfg": Sample(
        secrets=(
            "0123ABCD 0123ABCD",
            "fffff fffff",
            "pre-shared-key somekey",
            "~99a9aaa_aaaa9aa|||aaaaaaa",
            "9Aa9#A%X9AaAAAAAa",
            "0023353555485A15240155",
            "0123456789ABCDEF01234567",
        ),
        kept=(
            "crypto ca certificate chain blahblah",
            " certificate self-signed 01",
            "   <removed>",
            "  quit",
            "crypto isakmp key <removed> address 1.2.3.4",
            "  pre-shared-key address 1.1.1.1 key <removed>",
            "  key-string 7 <removed>",
            " key 1",  # a key's number under `key chain`
            "   56789ABC 0001",  # a peer's public key (`crypto key pubkey-chain`) is no secret
            "crypto key generate rsa general-keys modulus 1024",
            " keyring local somekey",
        ),
    ),
    "cisco_ios/batfish_cisco_enable.cfg": Sample(
        secrets=(
            "aaaaaaaaaaaaaaaaaaaaa",
            "pswd2",
            "pswd3",
            "pswd4",
            "$1$i5Rkls3LoyxzS8t9",
            "98pqLCa2lpNvN6gnQl3zyQ",
        ),
        kept=(
            "enable read-only-password <removed>",
            "enable password level 3 5 <removed>",
            'enable secret "***"',  # hidden by the device already
            "no enable password level 4",
            "enable telnet authentication",
        ),
    ),
    "cisco_ios/batfish_cisco_snmp.cfg": Sample(
        secrets=(
            "dummycommunity",
            "dummyconnunity",
            "dummy+dummy",
            "dummy@dummy",
            "xyx",
            "my_acl_for_public",
            "community#1234",
            "dummypassword",
            "dummyprivacypassword",
        ),
        kept=(
            "snmp-server community <removed> view everything RO ipv6 dummyacl 21",
            "snmp-server host 10.1.2.3 use-vrf management",
            "snmp-server group V3GROUP v3 priv read V3READ access 50",
            "snmp-server user admin network-admin auth md5 <removed> priv <removed> localizedkey",
        ),
    ),
    "cisco_ios/batfish_cisco_username.cfg": Sample(
        secrets=(
            "SOMEPASSWORD1",
            "SOMEPASSWORD2",
            "password 0 demo",
            "$1$pdQG$60trnJU5CpHjXSffvKXzd.",
            "blah",
            "PASSWORD1",
            "PASSWORD2",
            "PASSWORD3",
            "PASSWORD4",
            "PASSWORD5",
            "PASSWORD6",
            "$1$aaaa$bbbbbbbbbbbbbbbbbbbbbb",
            "password 1 1234",
        ),
        kept=(
            "username user2 nopassword",
            " secret 5 <removed>",
            "username network role network-admin",
            "username bob2 privilege 1 password 1 <removed>",
        ),
    ),
    "juniper_junos/oxidized_srx300_22.4.conf": Sample(
        secrets=(  # Oxidized's fail list
            "CorrectHorseBattery",
            "FAKEHASHDATAXXXXXXXXXXXXXXXXXXXX",
            "very-secret-encrypted-password",
        ),
        kept=(
            '        encrypted-password "<removed>"; ## SECRET-DATA',
            '                "pasvftp://demouser:<removed>@203.0.113.10/backup/";',
            '                "ftp://demouser2@203.0.113.11/backup/" password "<removed>"; '
            "## SECRET-DATA",
            '    location "42 Wallaby Way, Sydney";',
        ),
        volatile=("## Last commit: 2024-12-06 11:41:05 UTC by root",),
    ),
    "juniper_junos/batfish_junos-srx-1.set": Sample(
        secrets=(
            "$1$CXKwIUfL$6vLSvatE2TCaM25U4u9Bh1",
            "$1$67Q0XA3z$YqiBW/xxKWr74oHPXEkIv1",
            "$1$h1vGJxd0$wBfmDs404jrdydNCe3BGe.",
            "$1$v/fyEkyn$HVsYmKxVDCWwKp/dEZtsE0",
            "$9$/E6g9tO1IcSrvfTCu1hKv-VwgJD",
        ),
        kept=(
            'set security ike policy test-ike-policy pre-shared-key ascii-text "<removed>"',
            "set security ipsec policy test-ipsec-policy perfect-forward-secrecy keys group1",
            "set system license autoupdate url https://ae1.juniper.net/junos/key_retrieval",
        ),
    ),
    "juniper_junos/batfish_juniper_passwords.set": Sample(
        secrets=(
            "SOMEPASSWORD",
            "$9$WU3xVsq.f36CO1XNdV2gQz39uBylvNdwmfF6",
            "$9$Bq4ErKY2oDiqTzRcyrMWZGDkfQCt0cyegoUiq.5T",
        ),
        kept=('set system tacplus-server 1.2.3.5 secret "<removed>"',),
    ),
    "juniper_junos/batfish_juniper_snmp.set": Sample(
        secrets=("dummycommunity", "mytrapgroup"),
        kept=(
            'set snmp community "<removed>" clients 1.2.3.0/24',
            "set snmp trap-group <removed> targets 1.2.3.4",
            'set snmp location "some location"',
            "set snmp view myviewname1 oid myoidname1 exclude",
        ),
    ),
    "juniper_junos/batfish_juniper_bgp_authentication.set": Sample(
        secrets=("this-is-key", "this-is-the-secret-password", "this-is-another-secret-password"),
        kept=(
            "set protocols bgp authentication-key <removed>",
            "set protocols bgp group ext authentication-key-chain bgp-auth",
            "set security authentication-key-chains key-chain bgp-auth key 0 start-time "
            "2011-6-23.20:19:33",
        ),
    ),
    "juniper_junos/batfish_juniper_tacplus.set": Sample(
        secrets=("$9$IRDRcl8LNwYoKMgJ", "<SCRUBBED>"),
        kept=('set system tacplus-server 1.2.3.4 secret "<removed>"',),
    ),
    "juniper_junos/batfish_as1border1.set": Sample(
        # BGP communities under policy-options are routing data, not SNMP secrets
        secrets=(),
        kept=("set policy-options community as1_to_as2_community members 1:2",),
    ),
    "linux/openssh_sshd_config": Sample(
        secrets=(),
        kept=("#PasswordAuthentication yes", "#PermitRootLogin prohibit-password"),
    ),
    "linux/shadow_maint_shadow": Sample(
        secrets=("$1$NBLBLIXb$WUgojj1bNuxWEADQGt1m9.", "$1$yQnIAZWV$gDAMB2IkqaONgrQiRdo4y."),
        kept=(
            "root:<removed>:12991:0:99999:7:::",
            "daemon:*:12977:0:99999:7:::",
            "Debian-exim:!:12977:0:99999:7:::",
        ),
    ),
    "linux/hostap_wpa_supplicant_examples.conf": Sample(
        secrets=(
            "very secret passphrase",
            "not so secure passphrase",
            "06b4be19da289f475aa46a33cb793029",
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            'password="foobar"',
            'password="password"',
            'pin="1234"',
            "secretr",
            "abcde",
            "wep_key1=0102030405",
            "0123456789ABCDEF0123456789ABCDEF",  # mka_cak, a MACsec key
            "1234567890123",
            "12345678",
        ),
        kept=(
            '\tpsk="<removed>"',
            '\tprivate_key_passwd="<removed>"',
            '\tprivate_key="/etc/cert/user.prv"',  # a file's path, not a secret
            "\tkey_mgmt=WPA-PSK",
            "\twep_tx_keyidx=0",
        ),
    ),
    "linux/pyca_ec_private_key_encrypted.pem": Sample(
        secrets=("aTLUOmFF8IJyy3hABHPV", "7tBYqBCyxItmEIeAZqkZv6", "49858E10DCF0F870F0D3"),
        kept=("-----BEGIN EC PRIVATE KEY-----", SECRET_MARK, "-----END EC PRIVATE KEY-----"),
    ),
    "linux/pyca_dsa_private_key.pem": Sample(
        secrets=("Yc/v41zZCE8uICy9f13iDFtSUL0", "8XYf6yTYt/JGPohVX6cXWJDL7A0bSklY"),
        kept=("-----BEGIN DSA PRIVATE KEY-----", "-----END DSA PRIVATE KEY-----"),
    ),
}


def _samples() -> list[str]:
    return sorted(
        str(path.relative_to(DATA)) for path in DATA.glob("*/*") if path.parent.name in PLATFORMS
    )


def _is_subsequence(needles: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(any(line == other for other in it) for line in needles)


def test_every_sample_has_its_secrets_listed() -> None:
    assert _samples() == sorted(SAMPLES)
    assert {Path(name).parts[0] for name in SAMPLES} == set(PLATFORMS)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_published_sample(name: str) -> None:
    sample = SAMPLES[name]
    platform = Path(name).parts[0]
    original = (DATA / name).read_text()
    result = scrub(original, platform)
    out_lines = result.text.split("\n")

    for secret in sample.secrets:
        assert secret not in result.text, f"{secret!r} survived"
    assert find_secrets(result.text, platform) == []
    assert bool(find_secrets(original, platform)) == bool(sample.secrets)
    assert (result.secrets > 0) == bool(sample.secrets)
    for line in sample.kept:
        assert line in out_lines, f"{line!r} missing from the output"
    for line in sample.volatile:
        assert line in original.split("\n")
        assert line not in out_lines, f"volatile {line!r} kept"
    assert result.volatile >= len(sample.volatile)

    # lines without a secret come out untouched and in order; every changed line carries
    # the marker, after the untouched start of a line that held a secret
    in_lines = original.split("\n")
    flagged = {in_lines[n - 1] for n in find_secrets(original, platform)}
    assert _is_subsequence([line for line in out_lines if SECRET_MARK not in line], in_lines)
    for line in out_lines:
        if SECRET_MARK in line and line not in in_lines:
            head = line.split(SECRET_MARK)[0]
            assert any(held.startswith(head) for held in flagged) or not head.strip()

    again = scrub(result.text, platform)
    assert again == ScrubResult(result.text, 0, 0)


def test_counts_on_a_sample() -> None:
    result = scrub((DATA / "cisco_ios/napalm_ios_running.cfg").read_text(), "cisco_ios")
    assert (result.secrets, result.volatile) == (2, 3)
    chains = scrub((DATA / "cisco_ios/batfish_cisco_crypto.cfg").read_text(), "cisco_ios")
    # five certificates, each body one marker line
    assert [line.strip() for line in chains.text.split("\n")].count(SECRET_MARK) == 5


def _netconan_lines() -> list[tuple[str, str, str]]:
    rows = []
    for raw in (DATA / "netconan/secret_lines.tsv").read_text().splitlines():
        if raw and not raw.startswith("#"):
            platform, template, secret = raw.split("\t")
            rows.append((platform, template, secret))
    return rows


@pytest.mark.parametrize(("platform", "template", "secret"), _netconan_lines())
def test_netconan_secret_lines(platform: str, template: str, secret: str) -> None:
    line = template.replace("{0}", secret).replace("{}", secret)
    out = scrub(line, platform).text
    assert secret not in out
    assert out.startswith(template.split("{", maxsplit=1)[0])
    assert find_secrets(line, platform) == [1]
    assert find_secrets(out, platform) == []


# ---- random passwords in every known form ---------------------------------------------------

# (platforms, template): the password goes where "{}" is; what is around it must survive
FORMS: list[tuple[tuple[str, ...], str]] = [
    (("cisco_ios", "cisco_xe"), "enable password {}"),
    (("cisco_ios", "cisco_xe"), "enable password 7 {}"),
    (("cisco_ios", "cisco_xe"), "enable secret 5 {}"),
    (("cisco_ios", "cisco_xe"), "enable secret 9 {}"),
    (("cisco_ios", "cisco_xe"), "enable secret level 15 8 {}"),
    (("cisco_ios", "cisco_xe"), "username admin privilege 15 password 0 {}"),
    (("cisco_ios", "cisco_xe"), "username admin secret 9 {}"),
    (("cisco_ios", "cisco_xe"), "username admin password 7 {}"),
    (("cisco_ios", "cisco_xe"), "line vty 0 4\n password 7 {}"),
    (("cisco_ios", "cisco_xe"), "key chain EIGRP\n key 1\n  key-string 7 {}"),
    (("cisco_ios", "cisco_xe"), "interface Gi0/1\n ip ospf authentication-key 7 {}"),
    (("cisco_ios", "cisco_xe"), "interface Gi0/1\n ip ospf message-digest-key 1 md5 7 {}"),
    (("cisco_ios", "cisco_xe"), "interface Gi0/1\n ip ospf message-digest-key 1 md5 {}"),
    (("cisco_ios", "cisco_xe"), "router bgp 65000\n neighbor 10.0.0.1 password 7 {}"),
    (("cisco_ios", "cisco_xe"), "router bgp 65000\n neighbor 10.0.0.1 password {}"),
    (("cisco_ios", "cisco_xe"), "snmp-server community {} RO 10"),
    (("cisco_ios", "cisco_xe"), "snmp-server host 192.0.2.9 version 2c {} config"),
    (("cisco_ios", "cisco_xe"), "snmp-server host 192.0.2.9 {}"),
    (("cisco_ios", "cisco_xe"), "snmp-server user u g v3 auth sha {} priv aes 128 {}"),
    (("cisco_ios", "cisco_xe"), "crypto isakmp key {} address 192.0.2.1"),
    (("cisco_ios", "cisco_xe"), "crypto keyring KR\n pre-shared-key address 192.0.2.1 key {}"),
    (("cisco_ios", "cisco_xe"), "crypto ikev2 keyring KR\n peer p\n  pre-shared-key local {}"),
    (("cisco_ios", "cisco_xe"), "tacacs-server key 7 {}"),
    (("cisco_ios", "cisco_xe"), "tacacs-server host 192.0.2.2 key {}"),
    (("cisco_ios", "cisco_xe"), "tacacs server T1\n address ipv4 192.0.2.2\n key 7 {}"),
    (("cisco_ios", "cisco_xe"), "radius-server key {}"),
    (("cisco_ios", "cisco_xe"), "radius server R1\n address ipv4 192.0.2.3\n key {}"),
    (("cisco_ios", "cisco_xe"), "aaa group server tacacs+ G\n server-private 192.0.2.2 key 7 {}"),
    (("cisco_ios", "cisco_xe"), "aaa server radius dynamic-author\n client 1.2.3.4 server-key {}"),
    (("cisco_ios", "cisco_xe"), "ntp authentication-key 1 md5 {} 7"),
    (("cisco_ios", "cisco_xe"), "rf-switch snmp-community {}"),
    (("cisco_ios", "cisco_xe"), "dot11 ssid S\n wpa-psk ascii 0 {}"),
    (("cisco_ios", "cisco_xe"), "interface Vlan1\n standby 1 authentication md5 key-string {}"),
    (("cisco_ios", "cisco_xe"), "interface Vlan1\n vrrp 1 authentication text {}"),
    (("cisco_ios", "cisco_xe"), "interface Tunnel0\n ip nhrp authentication {}"),
    (("cisco_ios", "cisco_xe"), "ip ftp password {}"),
    (
        ("cisco_ios", "cisco_xe"),
        "router eigrp N\n af-interface default\n  authentication mode hmac-sha-256 7 {}",
    ),
    (("cisco_ios", "cisco_xe"), "archive\n path scp://backup:{}@192.0.2.5/cfg"),
    (("cisco_nxos",), "username admin password 5 {}  role network-admin"),
    (("cisco_nxos",), "username admin password {} role network-admin"),
    (("cisco_nxos",), "snmp-server user admin network-admin auth md5 {} priv aes-128 {} "),
    (("cisco_nxos",), "snmp-server user admin auth sha {} priv {} localizedkey"),
    (("cisco_nxos",), "snmp-server community {} group network-operator"),
    (("cisco_nxos",), "snmp-server host 192.0.2.9 traps version 2c {} udp-port 2162"),
    (("cisco_nxos",), 'tacacs-server host 192.0.2.2 key 7 "{}"'),
    (("cisco_nxos",), 'radius-server host 192.0.2.3 key 7 "{}" authentication accounting'),
    (("cisco_nxos",), "radius-server key 0 {}"),
    (("cisco_nxos",), "key chain K\n  key 0\n    key-string 7 {}"),
    (("cisco_nxos",), "interface Ethernet1/1\n  ip ospf authentication-key 3 {}"),
    (("cisco_nxos",), "router bgp 65000\n  neighbor 10.0.0.1\n    password 3 {}"),
    (("cisco_asa",), "enable password {} encrypted"),
    (("cisco_asa",), "enable password {} pbkdf2"),
    (("cisco_asa",), "passwd {} encrypted"),
    (("cisco_asa",), "username admin password {} encrypted privilege 15"),
    (("cisco_asa",), "tunnel-group 192.0.2.1 ipsec-attributes\n ikev1 pre-shared-key {}"),
    (
        ("cisco_asa",),
        "tunnel-group T ipsec-attributes\n ikev2 remote-authentication pre-shared-key {}",
    ),
    (
        ("cisco_asa",),
        "tunnel-group T ipsec-attributes\n ikev2 local-authentication pre-shared-key {}",
    ),
    (("cisco_asa",), "aaa-server TAC (inside) host 192.0.2.2\n key {}"),
    (("cisco_asa",), "snmp-server host inside 192.0.2.9 community {} version 2c"),
    (("cisco_asa",), "snmp-server community {}"),
    (("cisco_asa",), "failover key {}"),
    (("cisco_asa",), "aaa-server LDAP (inside) host 192.0.2.4\n ldap-login-password {}"),
    (("cisco_asa",), "interface Gi0/0\n ospf message-digest-key 1 md5 {}"),
    (("arista_eos",), "username admin privilege 15 role network-admin secret sha512 {}"),
    (("arista_eos",), "username admin secret 0 {}"),
    (("arista_eos",), "enable secret sha512 {}"),
    (("arista_eos",), "enable password sha512 {}"),
    (("arista_eos",), "aaa root secret sha512 {}"),
    (("arista_eos",), "snmp-server community {} ro"),
    (("arista_eos",), "snmp-server host 192.0.2.9 vrf MGMT version 2c {}"),
    (("arista_eos",), "snmp-server user u g v3 localized 0000 auth sha {} priv aes {}"),
    (("arista_eos",), "tacacs-server host 192.0.2.2 key 7 {}"),
    (("arista_eos",), "radius-server key 7 {}"),
    (("arista_eos",), "router bgp 65000\n   neighbor PEERS password 7 {}"),
    (("arista_eos",), "interface Ethernet1\n   ip ospf authentication-key 7 {}"),
    (("arista_eos",), "mac security\n   profile P\n      key 1234 7 {}"),
    (("arista_eos",), "interface Ethernet1\n   ip ospf message-digest-key 1 sha256 7 {}"),
    (("arista_eos",), "daemon TerminAttr\n   exec /usr/bin/TerminAttr -cvauth=key,{} -taillogs"),
    (("juniper_junos",), 'set system root-authentication encrypted-password "{}"'),
    (("juniper_junos",), 'set system login user u authentication encrypted-password "{}"'),
    (("juniper_junos",), 'set system tacplus-server 192.0.2.2 secret "{}"'),
    (("juniper_junos",), 'set system radius-server 192.0.2.3 secret "{}"'),
    (("juniper_junos",), 'set protocols bgp group G authentication-key "{}"'),
    (("juniper_junos",), 'set security ike policy P pre-shared-key ascii-text "{}"'),
    (("juniper_junos",), "set security ike policy P pre-shared-key hexadecimal {}"),
    (("juniper_junos",), "set snmp community {} authorization read-only"),
    (("juniper_junos",), 'set system ntp authentication-key 1 type md5 value "{}"'),
    (("juniper_junos",), "set snmp v3 usm local-engine user u privacy-aes128 privacy-password {}"),
    (("juniper_junos",), 'set access profile P client c chap-secret "{}"'),
    (("juniper_junos",), "set snmp trap-group {} targets 192.0.2.9"),
    (
        ("juniper_junos",),
        'set protocols ospf area 0 interface ge-0/0/0 authentication md5 1 key "{}"',
    ),
    (
        ("juniper_junos",),
        "snmp {{\n    community {} {{\n        authorization read-only;\n    }}\n}}",
    ),
    (
        ("juniper_junos",),
        'system {{\n    root-authentication {{\n        encrypted-password "{}"; '
        "## SECRET-DATA\n    }}\n}}",
    ),
    (
        ("juniper_junos",),
        'system {{\n    tacplus-server 192.0.2.2 {{\n        secret "{}"; ## SECRET-DATA\n'
        "    }}\n}}",
    ),
    (("linux",), "DB_PASSWORD={}"),
    (("linux",), "export API_TOKEN={}"),
    (("linux",), "aws_secret_access_key = {}"),
    (("linux",), "#password={}"),
    (("linux",), "clientSecret: {}"),
    (("linux",), '{{"password": "{}"}}'),
    (("linux",), '\tpsk="{}"'),
    (("linux",), "wpa_passphrase={}"),
    (("linux",), "0 1 * * * /usr/bin/backup --password={} --verbose"),
    (("linux",), "0 1 * * * /usr/bin/backup --token {} --verbose"),
    (("linux",), "deb https://user:{}@apt.example.com/debian stable main"),
    (("linux",), "curl -H 'Authorization: Bearer {}' https://example.com"),
]
ALPHABET = string.ascii_letters + string.digits + "!#%&*+-./=?@^_~"


def _password(rng: random.Random, alphabet: str = ALPHABET) -> str:
    # starts with a letter, so that it is never read as a type digit (`password 7 ...`)
    return rng.choice(string.ascii_letters) + "".join(
        rng.choice(alphabet) for _ in range(rng.randint(7, 24))
    )


def _cases() -> list[tuple[str, str]]:
    return [(platform, template) for platforms, template in FORMS for platform in platforms]


@pytest.mark.parametrize(("platform", "template"), _cases())
def test_random_passwords_never_survive(platform: str, template: str) -> None:
    rng = random.Random(f"{platform} {template}")
    alphabet = ALPHABET
    if platform == "juniper_junos" or "{{" in template:
        alphabet = string.ascii_letters + string.digits + "!#%*+-./=?^_~"
    if "://" in template:  # a URL's password holds no "/", "?", "#", "@" or ":"
        alphabet = string.ascii_letters + string.digits + "!%*+-.=^_~"
    if platform == "linux":
        alphabet = string.ascii_letters + string.digits + "!#%*+-.=?^_~"
    pieces = template.split("{}")
    for _ in range(25):
        password = _password(rng, alphabet)
        text = password.join(pieces).replace("{{", "{").replace("}}", "}")
        result = scrub(text, platform)
        assert password not in result.text, f"{text!r} -> {result.text!r}"
        assert result.secrets == template.count("{}")
        assert result.text.startswith(pieces[0].split("\n")[0].replace("{{", "{"))
        assert find_secrets(text, platform) != []
        assert find_secrets(result.text, platform) == []
        assert scrub(result.text, platform).text == result.text
        tail = pieces[-1].replace("{{", "{").replace("}}", "}")
        assert result.text.endswith(tail)


@pytest.mark.parametrize(
    "template",
    [
        "username u password 0 {}",
        "enable password {}",
        " dot1x username u password 0 {}",
        "wlan W 1 W\n security wpa psk set-key ascii 0 {}",
        "router bgp 1\n neighbor 192.0.2.1 password {}",
    ],
)
def test_ios_passwords_with_spaces(template: str) -> None:
    rng = random.Random(template)
    for _ in range(10):
        password = f"{_password(rng)} {_password(rng)} {_password(rng)}"
        text = template.format(password)
        out = scrub(text, "cisco_ios").text
        assert not any(word in out for word in password.split()), out
        assert out.endswith(SECRET_MARK)


# ---- what is not a secret --------------------------------------------------------------------

NOT_SECRETS = {
    "cisco_ios": [
        "service password-encryption",
        "security passwords min-length 8",
        "password encryption aes",
        "no enable password level 4",
        "username u nopassword",
        "aaa authentication password-prompt Password:",
        "key chain EIGRP\n key 1",
        "crypto key generate rsa modulus 2048",
        "interface Gi0/1\n ip ospf authentication key-chain K",
        "interface Gi0/1\n description reset the password portal",
        "interface Tunnel0\n tunnel key 1234",
        "snmp-server host 192.0.2.9 version 3 priv monitor",
        "snmp-server host 192.0.2.9 use-vrf management",
        "ip ssh pubkey-chain\n username u\n  key-hash sha256 0A1B2C3D4E5F",
        "enable secret 5 *****",
        "ntp server 192.0.2.1 key 4 prefer",
    ],
    "cisco_nxos": ["no password strength-check", "ssh key rsa 2048", "feature password"],
    "cisco_asa": [
        "password encryption aes",
        "ssh key-exchange group dh-group14-sha256",
        "tunnel-group T ipsec-attributes\n ikev1 pre-shared-key *****",
    ],
    "arista_eos": [
        "management security\n   password minimum length 8",
        "aaa authentication policy local allow-nopassword-remote-login",
        "username admin nopassword",
        "management ssh\n   authentication mode password",
    ],
    "juniper_junos": [
        "set policy-options community BLOCK members 65000:666",
        "policy-options {\n    community BLOCK members 65000:666;\n}",
        "set protocols bgp group G authentication-key-chain K",
        "set system login password minimum-length 10",
        "set system authentication-order [ radius password ]",
        "set security authentication-key-chains key-chain K key 1 start-time 2024-1-1.00:00",
    ],
    "linux": [
        "PasswordAuthentication no",
        "PasswordAuthentication=no",
        "PubkeyAcceptedKeyTypes=ssh-ed25519",
        "KEYMAP=us",
        "key_mgmt=WPA-PSK",
        "ssl_key=/etc/ssl/private/server.key",
        "daemon:*:19000:0:99999:7:::",
        "root:!:19000:0:99999:7:::",
        "ssh_keys:x:999:",
        "awk '{print $1$2$3$4$5$6}' /etc/passwd",
        "libpam-passwdqc 1.4.0-1",
        "! Last configuration change at 12:00:00 UTC Mon Jan 1 2024",
    ],
}


@pytest.mark.parametrize(
    ("platform", "text"), [(p, t) for p, texts in NOT_SECRETS.items() for t in texts]
)
def test_not_secrets_are_kept(platform: str, text: str) -> None:
    assert scrub(text, platform) == ScrubResult(text, 0, 0)
    assert find_secrets(text, platform) == []


# ---- blocks ----------------------------------------------------------------------------------


def test_a_private_key_body_becomes_one_marker_line_on_any_platform() -> None:
    pem = (DATA / "linux/pyca_ec_private_key_encrypted.pem").read_text()
    for platform in PLATFORMS:
        text = "before\n" + pem + "after\n"
        result = scrub(text, platform)
        assert result.text == (
            "before\n-----BEGIN EC PRIVATE KEY-----\n<removed>\n"
            "-----END EC PRIVATE KEY-----\nafter\n"
        )
        assert result.secrets == 1
        assert find_secrets(text, platform) == [3, 4, 5, 6, 7, 8]


def test_an_unclosed_private_key_is_masked_to_the_end() -> None:
    text = "key:\n  -----BEGIN OPENSSH PRIVATE KEY-----\n  b3BlbnNzaC1rZXktdjEAAAAA\n  AAAA"
    assert scrub(text, "linux").text == "key:\n  -----BEGIN OPENSSH PRIVATE KEY-----\n  <removed>"


def test_a_private_key_on_one_line() -> None:
    text = (
        'key = "-----BEGIN RSA PRIVATE KEY-----\\nMIIEpAIBAAKCAQEA\\n-----END RSA PRIVATE KEY-----"'
    )
    out = scrub(text, "arista_eos").text
    assert "MIIEpAIBAAKCAQEA" not in out
    assert "-----END RSA PRIVATE KEY-----" in out


def test_junos_snmp_community_blocks_only_under_snmp() -> None:
    text = (
        "snmp {\n"
        "    community S3cretCommunity {\n"
        "        authorization read-only;\n"
        "    }\n"
        "    trap-group TrapCommunity1 {\n"
        "        targets {\n"
        "            192.0.2.9;\n"
        "        }\n"
        "    }\n"
        "}\n"
        "policy-options {\n"
        "    community NO-EXPORT members no-export;\n"
        "}\n"
    )
    out = scrub(text, "juniper_junos").text
    assert "    community <removed> {" in out
    assert "    trap-group <removed> {" in out
    assert "    community NO-EXPORT members no-export;" in out
    assert find_secrets(text, "juniper_junos") == [2, 5]


# ---- volatile lines ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "volatile", "kept"),
    [
        (
            "cisco_ios",
            [
                "Building configuration...",
                "Current configuration : 4242 bytes",
                "! Last configuration change at 10:00:00 UTC Mon Jan 1 2024 by admin",
                "! NVRAM config last updated at 10:00:00 UTC Mon Jan 1 2024",
                "! No configuration change since last restart",
                "ntp clock-period 17179866",
            ],
            ["!", "version 15.2", "ntp server 192.0.2.1", "end"],
        ),
        (
            "cisco_xe",
            ["ntp clock-period 36028797018963968"],
            ["ntp server vrf Mgmt-vrf 192.0.2.1"],
        ),
        (
            "cisco_nxos",
            ["!Time: Sun Aug  6 16:43:18 2017", "!Running configuration last done at: now"],
            ["!Command: show running-config", "version 9.3(5)"],
        ),
        (
            "cisco_asa",
            [
                ": Saved",
                ": Written by enable_15 at 10:48:49.169 UTC Mon Feb 5 2024",
                "Cryptochecksum:0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            ],
            [":", ": Serial Number: JMX0000X0X0", "ASA Version 9.16(4)", ": end"],
        ),
        (
            "arista_eos",
            [
                "! Time: Mon Dec  1 14:37:04 2025",
                "! Startup-config last modified at  Sun Sep 11 18:35:01 2016 by root",
            ],
            [
                "! Command: show running-config",
                "! device: leaf1 (vEOS-lab, EOS-4.29.2F)",
                "! boot system flash:/vEOS-lab.swi",
                "end",
            ],
        ),
        (
            "juniper_junos",
            [
                "## Last commit: 2024-12-06 11:41:05 UTC by root",
                "## Last changed: 2024-12-06 11:41:05 UTC",
            ],
            ["version 22.4R3-S2.11;", "set version 22.4R3"],
        ),
    ],
)
def test_volatile_lines_are_dropped(platform: str, volatile: list[str], kept: list[str]) -> None:
    text = "\n".join(kept[:1] + volatile + kept[1:]) + "\n"
    out, dropped = drop_volatile(text, platform)
    assert out == "\n".join(kept) + "\n"
    assert dropped == len(volatile)
    assert drop_volatile(out, platform) == (out, 0)


def test_linux_has_no_volatile_lines() -> None:
    text = "! Last configuration change at 1\nntp clock-period 1\n## Last commit: x\n"
    assert drop_volatile(text, "linux") == (text, 0)


def test_a_server_document_of_sections() -> None:
    """The backup runner's document for a server: one section per file and command."""
    text = "\n".join(
        [
            "### command crontab -l",
            "MAILTO=ops@example.com",
            "30 2 * * * /usr/local/bin/dump --password=Zq8vH2mK --db main",
            "### file /etc/ssh/sshd_config",
            (DATA / "linux/openssh_sshd_config").read_text(),
            "### file /etc/shadow",
            (DATA / "linux/shadow_maint_shadow").read_text(),
        ]
    )
    result = scrub(text, "linux")
    assert "Zq8vH2mK" not in result.text
    assert "$1$" not in result.text
    assert "30 2 * * * /usr/local/bin/dump --password=<removed> --db main" in result.text
    assert "MAILTO=ops@example.com" in result.text
    assert result.text.count("### ") == 3
    assert result.secrets == 13
    assert find_secrets(result.text, "linux") == []


# ---- the interface -----------------------------------------------------------------------


def test_an_unknown_platform_is_refused() -> None:
    with pytest.raises(UnknownPlatform, match="no backup filters for platform 'hp_procurve'"):
        scrub("hostname x", "hp_procurve")
    with pytest.raises(ValueError):
        find_secrets("x", "ups_snmp")
    assert issubclass(UnknownPlatform, AutomatorError)


def test_text_shape_is_kept() -> None:
    for text in ("", "\n", "hostname x", "hostname x\n", "hostname x\r\nend\r\n"):
        assert scrub(text, "cisco_ios").text == text
    assert scrub_secrets("enable secret 5 $1$abcdefgh$ijklmnop\r\n", "cisco_ios") == (
        "enable secret 5 <removed>\r\n",
        1,
    )


def _config_of(lines: int) -> str:
    base: list[str] = []
    for name in (
        "oxidized_asr920_16.8.cfg",
        "oxidized_c9200l_17.09.cfg",
        "oxidized_c9800_17.06.cfg",
    ):
        base.extend((DATA / "cisco_xe" / name).read_text().splitlines())
    text: list[str] = []
    while len(text) < lines:
        text.extend(base)
    return "\n".join(text[:lines])


def test_a_5000_line_configuration_is_fast() -> None:
    """300 devices per backup: scrub and the store's check of one 5,000-line configuration
    together must stay well under 50 ms."""
    text = _config_of(5000)
    scrub(text, "cisco_xe")  # the rules compile once, on first use
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        result = scrub(text, "cisco_xe")
        find_secrets(result.text, "cisco_xe")
        best = min(best, time.perf_counter() - start)
    assert result.secrets > 100
    assert best < 0.05, f"{best * 1000:.1f} ms"
