"""The SNMP transport (pysnmp 7, asyncio): GET of scalars and GETBULK walks of subtrees.

Walks stop at the first OID outside their subtree (agents run past it), refuse
non-increasing OIDs (agents loop), and treat a missing table as empty. MIB lookup is off:
the parsers work on numeric OIDs.
"""

from __future__ import annotations

from typing import Any

from pyasn1.type import univ
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    usm3DESEDEPrivProtocol,
    usmAesCfb128Protocol,
    usmAesCfb192Protocol,
    usmAesCfb256Protocol,
    usmDESPrivProtocol,
    usmHMAC128SHA224AuthProtocol,
    usmHMAC192SHA256AuthProtocol,
    usmHMAC256SHA384AuthProtocol,
    usmHMAC384SHA512AuthProtocol,
    usmHMACMD5AuthProtocol,
    usmHMACSHAAuthProtocol,
)
from pysnmp.proto import rfc1902, rfc1905

from discovery.config import SnmpCredential
from discovery.snmp import mibcache
from discovery.snmp.values import Walk, WalkValue, oid_key

mibcache.install()  # every engine's MIB modules from pip's compiled files: a tenth of a second less

AUTH = {
    "md5": usmHMACMD5AuthProtocol,
    "sha": usmHMACSHAAuthProtocol,
    "sha224": usmHMAC128SHA224AuthProtocol,
    "sha256": usmHMAC192SHA256AuthProtocol,
    "sha384": usmHMAC256SHA384AuthProtocol,
    "sha512": usmHMAC384SHA512AuthProtocol,
}
PRIV = {
    "des": usmDESPrivProtocol,
    "3des": usm3DESEDEPrivProtocol,
    "aes": usmAesCfb128Protocol,
    "aes192": usmAesCfb192Protocol,
    "aes256": usmAesCfb256Protocol,
}
MAX_VALUES_PER_REQUEST = 50  # GETBULK's max-repetitions times the columns asked
MAX_ROWS_PER_WALK = 200_000


class SnmpError(Exception):
    """The agent did not answer, refused the credentials, or answered with an error."""

    def __init__(self, message: str, *, no_answer: bool = False, auth: bool = False) -> None:
        super().__init__(message)
        self.no_answer = no_answer
        self.auth = auth


def auth_data(credential: SnmpCredential) -> Any:
    if credential.version == "2c":
        assert credential.community is not None
        return CommunityData(credential.community.reveal(), mpModel=1)  # noqa: S508 (v2c is what the site configured)
    return UsmUserData(
        credential.user,
        authKey=credential.auth_key.reveal() if credential.auth_key else None,
        privKey=credential.priv_key.reveal() if credential.priv_key else None,
        authProtocol=AUTH[credential.auth_protocol] if credential.auth_protocol else None,
        privProtocol=PRIV[credential.priv_protocol] if credential.priv_protocol else None,
    )


def to_value(value: Any) -> WalkValue | None:
    """A pysnmp value as the parsers read it; None for noSuchObject / endOfMibView and the like.

    Without MIB lookup values arrive as pyasn1's base types, of which rfc1902's are subclasses.
    """
    if isinstance(value, rfc1905.NoSuchObject | rfc1905.NoSuchInstance | rfc1905.EndOfMibView):
        return None
    if isinstance(value, rfc1902.IpAddress):
        return ".".join(str(b) for b in value.asOctets())
    if isinstance(value, univ.OctetString):
        return bytes(value.asOctets())
    if isinstance(value, univ.ObjectIdentifier):
        return str(value)
    if isinstance(value, univ.Integer):
        return int(value)
    return None


def _classify(error_indication: Any) -> SnmpError:
    message = str(error_indication)
    lowered = message.lower()
    if "timeout" in lowered or "no snmp response" in lowered:
        return SnmpError(message, no_answer=True)
    if any(w in lowered for w in ("unknown usm user", "unknown user", "digest", "decryption error", "authorization")):
        return SnmpError(message, auth=True)
    return SnmpError(message)


class SnmpClient:
    def __init__(
        self,
        engine: SnmpEngine,
        address: str,
        port: int,
        credential: SnmpCredential,
        timeout: float,
        retries: int,
    ) -> None:
        self.engine = engine
        self.address = address
        self.port = port
        self.credential = credential
        self.timeout = timeout
        self.retries = retries
        self._auth = auth_data(credential)
        self._target: UdpTransportTarget | None = None

    async def _transport(self) -> UdpTransportTarget:
        if self._target is None:
            self._target = await UdpTransportTarget.create(
                (self.address, self.port), timeout=self.timeout, retries=self.retries
            )
        return self._target

    async def get(self, *oids: str) -> Walk:
        """Scalars by OID; the ones the agent does not have are left out."""
        error, status, index, var_binds = await get_cmd(
            self.engine,
            self._auth,
            await self._transport(),
            ContextData(),
            *(ObjectType(ObjectIdentity(oid)) for oid in oids),
            lookupMib=False,
        )
        if error:
            raise _classify(error)
        if status:
            raise SnmpError(f"agent error {status.prettyPrint()} at {index}")
        result: Walk = {}
        for name, value in var_binds:
            converted = to_value(value)
            if converted is not None:
                result[str(name)] = converted
        return result

    async def _bulk(self, oids: list[str], repetitions: int) -> list[Any]:
        error, status, _, var_binds = await bulk_cmd(
            self.engine,
            self._auth,
            await self._transport(),
            ContextData(),
            0,
            repetitions,
            *(ObjectType(ObjectIdentity(oid)) for oid in oids),
            lookupMib=False,
        )
        if error:
            raise _classify(error)
        return [] if status else list(var_binds)

    async def walk_columns(self, columns: tuple[str, ...]) -> Walk:
        """Table columns side by side, one GETBULK for all (like snmptable); each stops at its own end.

        The answer holds rows of one value per column asked, in order; an agent may cut it
        short, and the columns of a cut row simply ask again from where they were.
        """
        result: Walk = {}
        position = {c: c for c in columns}
        last = {c: oid_key(c) for c in columns}
        active = list(columns)
        while active and len(result) < MAX_ROWS_PER_WALK:
            repetitions = max(1, MAX_VALUES_PER_REQUEST // len(active))
            var_binds = await self._bulk([position[c] for c in active], repetitions)
            if not var_binds:
                return result
            ended: set[str] = set()
            moved = False
            for i, (name, value) in enumerate(var_binds):
                column = active[i % len(active)]
                if column in ended:
                    continue
                oid = str(name)
                key = oid_key(oid)
                converted = to_value(value)
                # Past the column, a non-increasing OID (the agent would loop), or endOfMibView.
                if not oid.startswith(column + ".") or key <= last[column] or converted is None:
                    ended.add(column)
                    continue
                result[oid] = converted
                position[column], last[column] = oid, key
                moved = True
            active = [c for c in active if c not in ended]
            if not moved:
                return result
        return result

    async def walk(self, prefix: str) -> Walk:
        """A whole subtree with GETBULK, stopping at its end."""
        return await self.walk_columns((prefix,))
