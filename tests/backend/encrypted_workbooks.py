"""Password-protected workbooks for tests, made at test time.

- .xlsx/.xlsb: an OOXML package encrypted by msoffcrypto-tool (Agile encryption,
  [MS-OFFCRYPTO] 2.3.4.10): an OLE2 file with EncryptionInfo and EncryptedPackage streams.
- .ods: an OpenDocument package whose content.xml is encrypted as ODF 1.2 part 3 §3.8
  describes (AES-256-CBC, PBKDF2 key, SHA-256 start key), which the manifest's
  ``manifest:encryption-data`` declares.
- .xls: an OLE2 file ([MS-CFB], written here by hand) whose Workbook stream is a BIFF8
  workbook globals substream starting with BOF then FILEPASS ([MS-XLS] 2.4.117) with RC4
  encryption ([MS-OFFCRYPTO] 2.3.6): a salt and the password verifier encrypted with the
  key derived from the password, so the password really opens it.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zipfile
import zlib
from base64 import b64encode
from pathlib import Path

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from msoffcrypto.format.ooxml import OOXMLFile

PASSWORD = "密碼1234"


def encrypt_ooxml(package: Path, path: Path, password: str = PASSWORD) -> Path:
    """Write ``package`` (an .xlsx or .xlsb zip) encrypted with ``password`` to ``path``."""
    with open(package, "rb") as plain, open(path, "wb") as out:
        OOXMLFile(plain).encrypt(password, out)
    return path


# --- .ods ------------------------------------------------------------------------------

ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
    'manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/" manifest:version="1.2" '
    'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml" '
    'manifest:size="{size}">'
    "<manifest:encryption-data manifest:checksum-type="
    '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0#sha256-1k" '
    'manifest:checksum="{checksum}">'
    '<manifest:algorithm manifest:algorithm-name="http://www.w3.org/2001/04/xmlenc#aes256-cbc" '
    'manifest:initialisation-vector="{iv}"/>'
    "<manifest:start-key-generation manifest:start-key-generation-name="
    '"http://www.w3.org/2000/09/xmldsig#sha256" manifest:key-size="32"/>'
    '<manifest:key-derivation manifest:key-derivation-name="PBKDF2" manifest:key-size="32" '
    'manifest:iteration-count="{iterations}" manifest:salt="{salt}"/>'
    "</manifest:encryption-data></manifest:file-entry></manifest:manifest>"
)


def encrypted_ods(path: Path, content: str, password: str = PASSWORD) -> Path:
    """Write an .ods at ``path`` whose ``content`` (content.xml text) is encrypted with
    ``password``: deflated, then AES-256-CBC with the PBKDF2-HMAC-SHA1 key of the
    password's SHA-256 (ODF 1.2 part 3 §3.8.1-3.8.4); stored, as the encrypted bytes do not
    compress."""
    plain = content.encode()
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate, as in a zip member
    deflated = compressor.compress(plain) + compressor.flush()
    salt, iv, iterations = os.urandom(16), os.urandom(16), 1000
    start_key = hashlib.sha256(password.encode()).digest()
    key = hashlib.pbkdf2_hmac("sha1", start_key, salt, iterations, 32)
    padder = padding.PKCS7(128).padder()  # a form of the W3C padding that xmlenc requires
    padded = padder.update(deflated) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    sealed = encryptor.update(padded) + encryptor.finalize()
    manifest = ODS_MANIFEST.format(
        size=len(plain),
        checksum=b64encode(hashlib.sha256(deflated[:1024]).digest()).decode(),
        iv=b64encode(iv).decode(),
        iterations=iterations,
        salt=b64encode(salt).decode(),
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet"
        )
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr(zipfile.ZipInfo("content.xml"), sealed)  # stored
    return path


# --- .xls ------------------------------------------------------------------------------

BIFF_BOF, BIFF_FILEPASS, BIFF_EOF = 0x0809, 0x002F, 0x000A


def rc4(key: bytes, data: bytes) -> bytes:
    """RC4 (the stream cipher of [MS-OFFCRYPTO] 2.3.6) of ``data`` with ``key``."""
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) % 256
        state[i], state[j] = state[j], state[i]
    out, i, j = bytearray(), 0, 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + state[i]) % 256
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) % 256])
    return bytes(out)


def rc4_verifier(password: str, salt: bytes, verifier: bytes) -> tuple[bytes, bytes]:
    """The EncryptedVerifier and EncryptedVerifierHash of ``verifier`` ([MS-OFFCRYPTO]
    2.3.6.2 key of block 0, 2.3.6.4 verifier): both encrypted by one RC4 stream."""
    h0 = hashlib.md5(password.encode("utf-16-le")).digest()
    intermediate = hashlib.md5((h0[:5] + salt) * 16).digest()
    key = hashlib.md5(intermediate[:5] + struct.pack("<I", 0)).digest()
    sealed = rc4(key, verifier + hashlib.md5(verifier).digest())
    return sealed[:16], sealed[16:]


def biff(kind: int, body: bytes) -> bytes:
    """A BIFF8 record: type and size (u16 each), then the body ([MS-XLS] 2.1.4)."""
    return struct.pack("<HH", kind, len(body)) + body


def encrypted_xls_stream(password: str = PASSWORD) -> tuple[bytes, bytes, bytes, bytes]:
    """The start of a Workbook stream protected by ``password``: BOF (BIFF8, workbook
    globals), FILEPASS (wEncryptionType 1 = RC4, version 1.1, salt, encrypted verifier and
    its hash), EOF. Returns (stream, salt, encrypted verifier, encrypted verifier hash)."""
    salt, verifier = os.urandom(16), os.urandom(16)
    sealed, sealed_hash = rc4_verifier(password, salt, verifier)
    # vers 0x0600 (BIFF8), dt 0x0005 (globals), rupBuild, rupYear, flags, version flags
    bof = biff(BIFF_BOF, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0x41, 0x06))
    filepass = biff(BIFF_FILEPASS, struct.pack("<HHH", 1, 1, 1) + salt + sealed + sealed_hash)
    return bof + filepass + biff(BIFF_EOF, b""), salt, sealed, sealed_hash


FREE, END_OF_CHAIN, FAT_SECTOR, NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
SECTOR = 512
MINI_CUTOFF = 4096


def _directory_entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
    """A 128-byte directory entry ([MS-CFB] 2.6.1); kind 5 = root, 2 = stream."""
    encoded = (name + "\0").encode("utf-16-le")
    return (
        encoded.ljust(64, b"\0")
        + struct.pack("<HBBIII", len(encoded), kind, 1, NO_STREAM, NO_STREAM, child)
        + bytes(16 + 4 + 8 + 8)  # CLSID, state bits, creation and modified times
        + struct.pack("<IQ", start, size)
    )


def write_cfb(path: Path, stream_name: str, data: bytes) -> Path:
    """Write an OLE2 compound file ([MS-CFB] version 3, 512-byte sectors) at ``path``
    holding one stream. The stream is padded with zeros to MINI_CUTOFF bytes so that it
    lives in regular sectors (no mini stream is needed). Layout: header, sector 0 the FAT,
    sector 1 the directory, then the stream's sectors."""
    data = data.ljust(MINI_CUTOFF, b"\0")
    count = -(-len(data) // SECTOR)
    fat = [FAT_SECTOR, END_OF_CHAIN] + [2 + i + 1 for i in range(count - 1)] + [END_OF_CHAIN]
    fat += [FREE] * (SECTOR // 4 - len(fat))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(16)  # CLSID
        + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6)  # versions, byte order, shifts
        + bytes(6)
        # directory sectors (0 in version 3), FAT sectors, first directory sector,
        # transaction signature, mini stream cutoff, first mini FAT sector, mini FAT
        # sectors, first DIFAT sector, DIFAT sectors
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, MINI_CUTOFF, END_OF_CHAIN, 0, END_OF_CHAIN, 0)
        + struct.pack("<109I", 0, *[FREE] * 108)  # the DIFAT: the FAT is sector 0
    )
    unused = bytes(64 + 4) + struct.pack("<III", NO_STREAM, NO_STREAM, NO_STREAM) + bytes(48)
    directory = (
        _directory_entry("Root Entry", 5, 1, END_OF_CHAIN, 0)
        + _directory_entry(stream_name, 2, NO_STREAM, 2, len(data))
        + unused * 2
    )
    body = struct.pack(f"<{SECTOR // 4}I", *fat) + directory + data.ljust(count * SECTOR, b"\0")
    path.write_bytes(header + body)
    return path
