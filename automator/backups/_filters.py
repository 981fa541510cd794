"""The two filters every fetched configuration goes through before it is stored, shown or
logged: secrets masked, volatile lines dropped.

A secret is replaced by ``SECRET_MARK`` and the rest of its line is kept, so that a diff still
says which password changed (``enable secret 5 <removed>``) and the line still parses. A
certificate's hex body or a private key's base64 body becomes a single marker line between
its kept first and last lines. Volatile lines (``! Last configuration change at ...``,
``ntp clock-period``, ``## Last commit: ...``) are dropped, so that a backup of an unchanged
device is byte for byte the previous one.

The filters read the text once, line by line. Every rule names a literal keyword that any
line it matches contains; one search of the platform's keyword pattern tells whether a line
can hold a secret at all, and only lines that can are tried against the rules (a 5,000-line
configuration takes a few milliseconds). A rule's regex holds the secret in its group ``s``.
A value that already holds the marker, or that the device itself hid as ``*****``, is left
alone and not counted again: scrubbing twice changes nothing.

``find_secrets`` runs the same rules and names the lines that would still be masked: the
backup runner's last look before a configuration is kept (it must find nothing in a scrubbed
text), and the tests'.
Known limits, by choice: ``password``, ``secret`` and ``key`` are masked wherever they are
followed by a value, banners included (masking too much is safe, too little is not); an
IOS password that contains `` secret <digit> `` is cut there; Junos SNMPv3 user names and
Cisco SNMPv3 host user names are identities, not secrets, and are kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property

from automator.errors import AutomatorError

SECRET_MARK = "<removed>"  # noqa: S105 (the marker, not a password)
PLATFORMS: tuple[str, ...] = (
    "cisco_ios",
    "cisco_xe",
    "cisco_nxos",
    "cisco_asa",
    "arista_eos",
    "juniper_junos",
    "linux",
)


class UnknownPlatform(AutomatorError, ValueError):
    """No filters are defined for the platform: its configuration cannot be stored safely."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        super().__init__(
            f"no backup filters for platform {platform!r} (known: {', '.join(PLATFORMS)})"
        )


@dataclass(frozen=True)
class ScrubResult:
    """A configuration after both filters, with what they did."""

    text: str
    secrets: int  # values replaced by SECRET_MARK (a certificate or key body counts one)
    volatile: int  # lines dropped


@dataclass
class _Context:
    """What a rule may need to know beyond its line."""

    parent: str = ""  # Cisco: the last top-level line (the section the line is in)
    path: list[str] = field(default_factory=list)  # Junos: the blocks open around the line


_Check = Callable[[re.Match[str], _Context], bool]


@dataclass(frozen=True)
class _Rule:
    keyword: str  # a lower-case literal every match contains: the cheap test before the regex
    source: str
    check: _Check | None = None

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """Compiled when a platform's rules are first used, not when the module loads (every
        platform's rules at once cost a command 30 ms of start-up)."""
        return re.compile(self.source)


def _rule(keyword: str, pattern: str, check: _Check | None = None) -> _Rule:
    return _Rule(keyword, pattern, check)


@dataclass(frozen=True)
class _Profile:
    rules: tuple[_Rule, ...]
    trigger: re.Pattern[str]  # any rule's keyword, searched in the lower-cased line
    volatile: re.Pattern[str] | None
    certificates: bool  # Cisco `crypto pki certificate chain` bodies


# ---- values ------------------------------------------------------------------------------

# the rest of the line, trailing blanks kept out (IOS passwords may hold spaces)
_REST = r"(?P<s>\S(?:.*\S)?)"
# a word, or a quoted string (NX-OS `key 7 "x"`, Junos `"$9$..."`)
_WORD = r'(?P<s>"(?:[^"\\]|\\.)*"|\S+)'
_JUNOS_VALUE = r'(?P<s>"(?:[^"\\]|\\.)*"|[^\s;"{}]+)'
# an optional encryption type before the value (0 clear, 5/8/9 hashes, 6 AES, 7 reversible)
_TYPE = r"(?:\s+[0-9](?=\s+\S))?"
# words that follow `password`/`secret` in commands that hold no secret
# (`password strength-check`, `password encryption aes`, `no enable password level 4`)
_NOT_A_VALUE = (
    r"(?!(?:level|strength-check|encryption|minimum|maximum|policy|secure-mode|prompt"
    r"|required|history|lifetime|expiry|reuse|change|length)(?:\s|$))"
)
# words that follow `key` in commands that hold no secret (`key chain`, `crypto key generate`)
_NOT_A_KEY = (
    r"(?!(?:chain|config-key|exchange|generate|zeroize|storage|rsa|dsa|ec|ecdsa|ed25519"
    r"|import|export|decrypt|encrypt|pubkey-chain|lifetime|hash|label|modulus|size|length"
    r"|name|string)(?:\s|$))"
)
_STARS = re.compile(r"""["']?\*+["']?""")
_DESCRIPTION = re.compile(r"\s*(?:description|remark)\s")
_KEY_CHAIN_ID = re.compile(r"\s+key\s+\d+\s*$")
_NTP_KEY_ID = re.compile(r"\s*ntp\s.*\skey\s+\d+(?:\s|$)")


def _masked(value: str) -> bool:
    """Already masked by us, or hidden by the device (`pre-shared-key *****`)."""
    return SECRET_MARK in value or _STARS.fullmatch(value) is not None


def _mask(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return f"{value[0]}{SECRET_MARK}{value[0]}"
    return SECRET_MARK


# ---- rules every platform shares ----------------------------------------------------------

_COMMON = (
    # credentials in a URL: scp://user:password@host/path
    _rule("://", r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@\"']+:(?P<s>[^\s@\"'/]+)@"),
    # crypt(3)-style hashes anywhere: $1$ md5, $5$/$6$ sha, $2b$ bcrypt, $y$ yescrypt,
    # Cisco $8$/$9$, Junos $9$, ASA $sha512$
    _rule(
        "$",
        r"(?<![\w$])(?P<s>\$(?:1|2[abxy]?|5|6|7|8|9|y|gy|apr1|md5|sha1|sha256|sha512"
        r"|pbkdf2(?:-sha\d+)?)\$(?=[^\s\"':;,{}()]*?[^\s\"':;,{}()$]{8})[^\s\"':;,{}()]+)",
    ),
    # a private key written on one line
    _rule(
        "private key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?P<s>.+?)-----END ",
    ),
)


# ---- Cisco IOS / IOS-XE / NX-OS / ASA and Arista EOS ----------------------------------------


def _not_description(match: re.Match[str], _: _Context) -> bool:
    return _DESCRIPTION.match(match.string) is None


def _a_key(match: re.Match[str], context: _Context) -> bool:
    """Not a description, and not a key's number: under `key chain` (`key 1`), or the key an
    NTP server uses (`ntp server 192.0.2.1 key 4`)."""
    if not _not_description(match, context):
        return False
    if context.parent.startswith("key chain") and _KEY_CHAIN_ID.match(match.string):
        return False
    return _NTP_KEY_ID.match(match.string) is None


def _cisco(rest: bool, asa: bool = False) -> tuple[_Rule, ...]:
    """The Cisco-style rules. ``rest``: a password is the rest of its line (IOS, where it may
    hold spaces); else one word, with the options after it kept (NX-OS, ASA, EOS)."""
    value = _REST if rest else _WORD
    # IOS: stop before a second secret on the line (`mgmtuser ... password 0 X secret 0 Y`)
    password_value = (
        r"(?P<s>\S(?:.*?\S)?)(?=\s+(?:password|secret)\s+[0-9]\s|\s*$)" if rest else _WORD
    )
    passwords = tuple(
        _rule(
            word,
            rf"(?<![\w-])(?:[\w-]+-)?{word}(?:\s+level\s+\d+)?"
            rf"(?:\s+(?:[0-9]|sha512|sha256)(?=\s+\S))?\s+{_NOT_A_VALUE}{password_value}",
            _not_description,
        )
        for word in ("password", "passwd", "secret")
    )
    snmp_host = (
        # ASA: snmp-server host IFACE ADDRESS community X version 2c
        _rule(
            "snmp-server host",
            r"snmp-server host\s.*?\scommunity" + _TYPE + r"\s+(?P<s>\S+)",
        )
        if asa
        # snmp-server host ADDRESS [vrf V] [informs|traps] [version 1|2c] COMMUNITY ...;
        # with version 3 the word there is a user name, and it is kept
        else _rule(
            "snmp-server host",
            r"snmp-server host\s+\S+(?:\s+vrf\s+\S+)?(?:\s+(?:informs|traps))?"
            r"(?:\s+version\s+(?:1|2c))?\s+"
            r"(?!(?:version|vrf|use-vrf|filter-vrf|source-interface|informs|traps|udp-port)"
            r"(?:\s|$))(?P<s>\S+)",
        )
    )
    return (
        # specific forms first: they keep what follows the secret
        _rule("isakmp key", r"isakmp key" + _TYPE + r"\s+(?P<s>\S+)"),
        _rule(
            "ntp authentication-key",
            r"ntp authentication-key\s+\d+\s+\S+" + _TYPE + r"\s+(?P<s>\S+)",
        ),
        _rule(
            "message-digest-key",
            r"message-digest-key\s+\d+\s+(?:md5|sha\d*)" + _TYPE + r"\s+" + value,
        ),
        # EIGRP named mode
        _rule("hmac-sha-256", r"authentication mode hmac-sha-256" + _TYPE + r"\s+" + value),
        _rule("authentication-key", r"(?<!ntp )authentication-key" + _TYPE + r"\s+" + value),
        _rule(
            "key-string",
            r"key-string" + _TYPE + r"\s+(?P<s>\S(?:.*?\S)?)(?=\s+timeout\s+\d+\s*$|\s*$)",
        ),
        _rule("server-key", r"server-key" + _TYPE + r"\s+" + value),
        _rule(
            "pre-shared-key",
            r"pre-shared-key(?:\s+(?:local|remote))?(?:\s+(?:hex|[0-9])(?=\s+\S))?"
            r"(?!\s+(?:address|hostname)\s)\s+" + value,
        ),
        _rule("wpa-psk", r"wpa-psk\s+(?:ascii|hex)" + _TYPE + r"\s+" + _REST),
        _rule("set-key", r"set-key\s+(?:ascii|hex)" + _TYPE + r"\s+" + _REST),
        _rule("password-encrypt", r"password-encrypt\s+(?P<s>\S+)"),
        _rule("nhrp authentication", r"nhrp authentication\s+(?P<s>\S+)"),
        _rule("authentication text", r"authentication text\s+" + value),
        _rule(
            "authentication",
            r"standby(?:\s+\d+)?\s+authentication\s+(?!(?:md5|text)\s)(?P<s>\S+)",
        ),
        _rule("spi", r"\bspi\s+\d+\s+(?:md5|sha1)" + _TYPE + r"\s+(?P<s>[0-9A-Fa-f]+)"),
        _rule("session-key", r"session-key\s+(?:in|out)bound\s+ah\s+\d+\s+(?P<s>\S+)"),
        _rule("session-key", r"session-key\s.*?\scipher\s+(?P<s>[0-9A-Fa-f]+)"),
        _rule("session-key", r"session-key\s.*?\sauthenticator\s+(?P<s>[0-9A-Fa-f]+)"),
        _rule("-cvauth=key,", r"-cvauth=key,(?P<s>[^\s,]+)"),
        # SNMP communities and v3 users' keys
        # ASA: `snmp-server community [0|8] X`; elsewhere the word after is the community
        _rule(
            "snmp-server community",
            r"snmp-server community" + (_TYPE if asa else "") + r"\s+(?P<s>\S+)",
        ),
        _rule("community-map", r"community-map\s+(?P<s>[^\s:]+)"),
        _rule("snmp-community", r"snmp-community\s+(?P<s>\S+)"),
        snmp_host,
        _rule("snmp-server user", r"snmp-server user\s.*?\sauth\s+(?:md5|sha\S*)\s+(?P<s>\S+)"),
        _rule(
            "snmp-server user",
            r"snmp-server user\s.*?\spriv\s+"
            r"(?:(?:3des|des56|des|aes(?:-?\d+)?)(?:\s+(?:128|192|256))?\s+)?(?P<s>\S+)",
        ),
        # EOS MACsec: key CKN [0|7] CAK (the key name is kept)
        _rule("key", r"^\s+key\s+[0-9A-Fa-f]+\s+[07]\s+(?P<s>\S+)"),
        # the general forms: `enable secret 5 ...`, `username u password 7 ...`,
        # `ldap-login-password ...`, ` key 7 ...` (TACACS+/RADIUS servers, ASA aaa-server)
        *passwords,
        _rule(
            "key",
            r"(?<![\w-])(?<!crypto )(?<!ssh )(?<!tunnel )key(?:\s+(?:[0-9]|hex)(?=\s+\S))?\s+"
            r"(?![0-9A-Fa-f]+\s+[07]\s+\S)" + _NOT_A_KEY + value,
            _a_key,
        ),
    )


# ---- Juniper Junos (curly braces and `display set`) ----------------------------------------


def _in_snmp(_: re.Match[str], context: _Context) -> bool:
    return "snmp" in context.path


_JUNOS = (
    # Junos marks its own secrets in `show configuration`
    _rule("## secret-data", _JUNOS_VALUE + r"\s*;\s*## SECRET-DATA"),
    *(
        # not `ntp authentication-key 1 type md5 value "..."`: its value is below
        _rule(word, rf"(?<![\w-])(?:[\w-]+-)?{word}\s+(?!\d+\s+type\s){_JUNOS_VALUE}")
        for word in (
            "encrypted-password",
            "secret",
            "authentication-key",
            "authentication-password",
            "privacy-key",
            "privacy-password",
            "simple-password",
            "community-name",
            "plain-text-password-value",
        )
    ),
    _rule("value", rf"authentication-key\s+\d+\s+type\s+\S+\s+value\s+{_JUNOS_VALUE}"),
    _rule("ascii-text", rf"\b(?:pre-shared-key|key)\s+ascii-text\s+{_JUNOS_VALUE}"),
    _rule("hexadecimal", rf"\b(?:pre-shared-key|key)\s+hexadecimal\s+{_JUNOS_VALUE}"),
    _rule("md5", rf"\bmd5\s+\d+\s+key\s+{_JUNOS_VALUE}"),
    _rule("keys key", rf"\bkeys\s+key\s+{_JUNOS_VALUE}"),
    # stored secrets are always $9$/$1$/$6$ strings, which Junos quotes
    _rule("password", r'(?<![\w-])password\s+(?P<s>"(?:[^"\\]|\\.)*")'),
    # SNMPv1/v2c: a community's name, and a trap group's name (sent as the community)
    _rule("snmp", rf"\bsnmp\s+(?:community|trap-group)\s+{_JUNOS_VALUE}"),
    _rule("community", rf"^\s*(?:inactive:\s+)?community\s+{_JUNOS_VALUE}", _in_snmp),
    _rule("trap-group", rf"^\s*(?:inactive:\s+)?trap-group\s+{_JUNOS_VALUE}", _in_snmp),
)

# ---- Linux: files and command outputs ------------------------------------------------------

_SECRET_NAMES = frozenset(
    (
        "password",
        "passwd",
        "pass",
        "pwd",
        "passphrase",
        "secret",
        "token",
        "key",
        "apikey",
        "psk",
        "cak",
        "pin",
        "credential",
        "credentials",
    )
)
_NAME_PARTS = re.compile(r"[_.\-]+|(?<=[a-z0-9])(?=[A-Z])")
_A_PATH = re.compile(r"""["']?(?:/|~/|\./)[^\s"']*["']?""")


def _secret_setting(match: re.Match[str], _: _Context) -> bool:
    """The setting's last word names a secret (`db_password`, `API_TOKEN`, `wep_key0`,
    `clientSecret`), and its value is not a file's path (`ssl_key=/etc/ssl/x.key`).
    `PasswordAuthentication` ends in `authentication`: not a secret."""
    last = _NAME_PARTS.split(match["k"])[-1].lower().rstrip("0123456789")
    return last in _SECRET_NAMES and _A_PATH.fullmatch(match["s"]) is None


_LINUX = (
    # /etc/shadow: name:hash:lastchg:min:max:warn:inactive:expire:reserved
    _rule(
        ":",
        r"^[A-Za-z0-9_][\w.-]*\$?:(?!(?:\*|!|!!|x|!\*|\*LK\*|NP)?:)(?P<s>[^:\s]+)"
        r":\d*:\d*:\d*:\d*:\d*:\d*:[^:]*$",
    ),
    # name=value (also commented out, and `export NAME=value`)
    _rule(
        "=",
        r"^\s*(?:#\s*)?(?:export\s+)?(?P<k>[A-Za-z_][\w.-]*)\s*=\s*(?P<s>\S(?:.*\S)?)",
        _secret_setting,
    ),
    # name: value (YAML-like)
    _rule(":", r"^\s*(?:-\s+)?(?P<k>[A-Za-z_][\w.-]*)\s*:\s+(?P<s>\S(?:.*\S)?)", _secret_setting),
    # "name": "value" (JSON)
    _rule('":', r'"(?P<k>[A-Za-z_][\w.-]*)"\s*:\s*(?P<s>"(?:[^"\\]|\\.)*")', _secret_setting),
    # command lines: --password=x, --token x
    _rule(
        "--",
        r"(?<!\S)--(?P<k>[A-Za-z][\w-]*)(?:=|\s+)(?P<s>(?!-)[^\s\"']+|\"[^\"]*\"|'[^']*')",
        _secret_setting,
    ),
    _rule("bearer", r"\b[Bb]earer\s+(?P<s>[^\s\"']{8,})"),
)

# ---- volatile lines ----------------------------------------------------------------------

_IOS_VOLATILE = (
    r"Building configuration\.\.\.[ \t]*$",
    r"Current configuration[ \t]*:[ \t]*\d+ bytes[ \t]*$",
    r"! Last configuration change at ",
    r"! NVRAM config last updated at ",
    r"! No configuration change since last restart",
    r"[ \t]*ntp clock-period \d+[ \t]*$",
)
_VOLATILE: dict[str, tuple[str, ...]] = {
    "cisco_ios": _IOS_VOLATILE,
    "cisco_xe": _IOS_VOLATILE,
    "cisco_nxos": (r"!Time:", r"!Running configuration last done at:", *_IOS_VOLATILE),
    "cisco_asa": (r": Saved[ \t]*$", r": Written by ", r"Cryptochecksum:"),
    "arista_eos": (
        r"! Time:",
        r"! Startup-config last modified at",
        r"[ \t]*ntp clock-period \d+[ \t]*$",
    ),
    "juniper_junos": (r"## Last commit: ", r"## Last changed: "),
    "linux": (),
}

_RULES: dict[str, tuple[_Rule, ...]] = {
    "cisco_ios": _cisco(rest=True),
    "cisco_xe": _cisco(rest=True),
    "cisco_nxos": _cisco(rest=False),
    "cisco_asa": _cisco(rest=False, asa=True),
    "arista_eos": _cisco(rest=False),
    "juniper_junos": _JUNOS,
    "linux": _LINUX,
}

# ---- block bodies ------------------------------------------------------------------------

_PEM_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----\s*$")
_CERTIFICATE_CHAIN = re.compile(r"crypto (?:pki|ca) certificate chain\s")
_CERTIFICATE = re.compile(r"\s+certificate\s+\S")
_QUIT = re.compile(r"\s*quit\s*$")


def _body_end(lines: Sequence[str], start: int, context: _Context, certificates: bool) -> int:
    """When ``lines[start]`` opens a secret body, the index of the line that closes it (or
    ``len(lines)``: an unclosed private key is masked to the end); else ``start``."""
    line = lines[start]
    if "PRIVATE KEY" in line and _PEM_BEGIN.search(line):
        return next(
            (i for i in range(start + 1, len(lines)) if "-----END " in lines[i]), len(lines)
        )
    if (
        certificates
        and context.parent.startswith("crypto ")
        and _CERTIFICATE_CHAIN.match(context.parent)
        and _CERTIFICATE.match(line) is not None
    ):
        for i in range(start + 1, len(lines)):
            if _QUIT.match(lines[i]) or not lines[i][:1].isspace():
                return i
        return len(lines)
    return start


# ---- the engine --------------------------------------------------------------------------


@cache
def _profile(platform: str) -> _Profile:
    if platform not in _RULES:
        raise UnknownPlatform(platform)
    rules = (*_RULES[platform], *_COMMON)
    keywords = {rule.keyword for rule in rules}
    # a keyword that contains another adds nothing to the trigger (`isakmp key` has `key`)
    shortest = sorted(k for k in keywords if not any(j != k and j in k for j in keywords))
    volatile = _VOLATILE[platform]
    return _Profile(
        rules=rules,
        trigger=re.compile("|".join(re.escape(k) for k in shortest)),
        volatile=re.compile(rf"^(?:{'|'.join(volatile)})[^\n]*(?:\n|\Z)", re.MULTILINE)
        if volatile
        else None,
        certificates=platform.startswith("cisco"),
    )


def _scrub_line(line: str, lower: str, profile: _Profile, context: _Context) -> tuple[str, int]:
    """The line with its secrets masked, and how many there were."""
    found = 0
    for rule in profile.rules:
        if rule.keyword not in lower:
            continue
        spans = [
            match.span("s")
            for match in rule.pattern.finditer(line)
            if not _masked(match["s"]) and (rule.check is None or rule.check(match, context))
        ]
        for start, end in reversed(spans):
            line = line[:start] + _mask(line[start:end]) + line[end:]
        found += len(spans)
    return line, found


def _track_junos(line: str, path: list[str]) -> None:
    text = line.strip()
    if text.endswith("{"):
        words = [w for w in text.split() if w not in ("inactive:", "protect:")]
        path.append(words[0] if words else "")
    elif text.startswith("}") and path:
        path.pop()


def _scan(text: str, platform: str) -> tuple[str, int, list[int]]:
    """The text with its secrets masked, how many, and the (1-based) lines that held one."""
    profile = _profile(platform)
    junos = platform == "juniper_junos"
    lines = text.split("\n")
    out: list[str] = []
    flagged: list[int] = []
    found = 0
    context = _Context()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line[:1] not in ("", " ", "\t"):
            context.parent = line
        lower = line.lower()
        if profile.trigger.search(lower):
            line, count = _scrub_line(line, lower, profile, context)
            if count:
                found += count
                flagged.append(index + 1)
        if junos:
            _track_junos(line, context.path)
        out.append(line)
        end = _body_end(lines, index, context, profile.certificates)
        body = lines[index + 1 : end]
        if body and not (len(body) == 1 and body[0].strip() == SECRET_MARK):
            found += 1
            flagged.extend(range(index + 2, end + 1))
            indent = body[0][: len(body[0]) - len(body[0].lstrip())]
            out.append(indent + SECRET_MARK)
        else:
            out.extend(body)
        index = max(end, index + 1)
    return "\n".join(out), found, flagged


def scrub_secrets(text: str, platform: str) -> tuple[str, int]:
    """The text with every secret the platform's rules know replaced by SECRET_MARK (the
    rest of each line kept), and how many were replaced."""
    masked, found, _ = _scan(text, platform)
    return masked, found


def drop_volatile(text: str, platform: str) -> tuple[str, int]:
    """The text without the lines that change when the configuration does not (timestamps,
    byte counts, checksums, `ntp clock-period`), and how many were dropped."""
    pattern = _profile(platform).volatile
    if pattern is None:
        return text, 0
    return pattern.subn("", text)


def scrub(text: str, platform: str) -> ScrubResult:
    """Both filters: what may be stored, shown or logged. An unknown platform raises
    UnknownPlatform (a ValueError): with no rules for it, nothing of it may be kept."""
    masked, secrets = scrub_secrets(text, platform)
    kept, volatile = drop_volatile(masked, platform)
    return ScrubResult(kept, secrets, volatile)


def find_secrets(text: str, platform: str) -> list[int]:
    """The (1-based) numbers of the lines that still hold something the secret filter would
    mask. Empty for any text that went through ``scrub``."""
    return _scan(text, platform)[2]
