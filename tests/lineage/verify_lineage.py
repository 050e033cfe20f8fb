#!/usr/bin/env python3
"""An independent verifier of gov lineage logs and bundles, written from
docs/lineage-format.md alone (standard library only: Ed25519 is implemented
below from RFC 8032's definitions). It checks everything govverify checks
except --replay (which needs the Decision IR interpreter).

usage: verify_lineage.py --trust KEY.pub [--trust ...] [--policy-digest sha256:...]
                         [--all-signatures] [--requests] PATH...
Prints one line per PATH: "PATH<TAB>class<TAB>message" where class is ok,
signature, chain, binding or malformed; exits with the first failure's code
(the govverify codes: 0, 1 signature, 2 chain, 3 binding, 5 malformed).

PATH is a log, a bundle (version 1 or 2) or a lineage_dir (its lineage.log).
A log's version 2 checkpoints must name the RFC 9162 tree head of the records
before them; a directory's signed checkpoint note (required when its last
checkpoint is version 2), or a `checkpoint` note beside a log file named
lineage.log, is checked as "Transparency log" in the spec says, and so is
every hash tile and entry bundle of the note's tree (computed from the log's
HEADs in the same pass, one buffer of 256 per tile level).

--requests also decodes every authorization body's request (byte strings,
docs/request.md) and, after PATH's line, prints one line per authorization:
"request<TAB>RUN<TAB>JSON" where JSON holds the request with every byte
string as lower-case hex (env as [name, value] pairs, env_hashed as
[name, hash] pairs). A byte string not in its one canonical form is malformed.
"""

import base64
import hashlib
import json
import os
import unicodedata
import sys

EXIT = {"ok": 0, "signature": 1, "chain": 2, "binding": 3, "malformed": 5}

# --- Ed25519 (RFC 8032, section 5.1), verification only -------------------
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _add(p1, p2):
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = t1 * 2 * D * t2 % P
    d = z1 * 2 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(scalar, point):
    result = (0, 1, 1, 0)
    while scalar > 0:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _decode_point(data):
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return (x, y, 1, x * y % P)


def _same(p1, p2):
    return (p1[0] * p2[2] - p2[0] * p1[2]) % P == 0 and (p1[1] * p2[2] - p2[1] * p1[2]) % P == 0


_BASE = _decode_point((4 * pow(5, P - 2, P) % P).to_bytes(32, "little"))


def ed25519_verify(public, message, signature):
    if len(signature) != 64:
        return False
    a = _decode_point(public)
    r = _decode_point(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % L
    return _same(_mul(s, _BASE), _add(r, _mul(h, a)))


def read_public_key(path):
    lines = open(path, "rb").read().decode("ascii").strip().splitlines()
    if lines[0] != "-----BEGIN PUBLIC KEY-----" or lines[-1] != "-----END PUBLIC KEY-----":
        raise ValueError(path + ": not a PUBLIC KEY PEM block")
    der = base64.b64decode("".join(lines[1:-1]), validate=True)
    prefix = bytes.fromhex("302a300506032b6570032100")
    if len(der) != 44 or der[:12] != prefix:
        raise ValueError(path + ": not an Ed25519 SubjectPublicKeyInfo")
    return der[12:]


# --- Canonical JSON ---------------------------------------------------------
class Bad(Exception):
    def __init__(self, cls, message, line=0):
        super().__init__(message)
        self.cls = cls
        self.line = line


def _no_floats(text):
    raise ValueError("a number that is not an integer: " + text)


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _fits(value, depth=0):
    """Integers within 64 bits ([-2**63, 2**64 - 1]) and nesting at most 32
    deep, as canonical JSON requires."""
    if isinstance(value, (dict, list)):
        if depth >= 32:
            return False
        items = value.values() if isinstance(value, dict) else value
        return all(_fits(item, depth + 1) for item in items)
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value <= 2**64 - 1
    return True


def parse_canonical(data):
    """Parses UTF-8 canonical JSON bytes; None if not JSON or not canonical."""
    try:
        value = json.loads(data.decode("utf-8"), parse_float=_no_floats, parse_constant=_no_floats)
        if canonical(value) != data or not _fits(value):
            return None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return value


def same(a, b):
    """JSON equality without Python's 1 == True."""
    return type(a) is type(b) and a == b


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def is_hex(text, length):
    return isinstance(text, str) and len(text) == length and all(c in "0123456789abcdef" for c in text)


def is_digest(text):
    return isinstance(text, str) and text.startswith("sha256:") and is_hex(text[7:], 64)


# --- Byte strings (docs/request.md "Byte strings") --------------------------
def is_utf8(data):
    try:
        data.decode("utf-8")  # strict: no overlongs, surrogates or > U+10FFFF
        return True
    except UnicodeDecodeError:
        return False


def byte_string(value, where):
    """The bytes of a byte string: a JSON string, or {"base64": ...} for bytes
    that are not UTF-8 (canonical base64). Raises Bad."""
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:
            raise Bad("malformed", "%s: a string that is not Unicode text" % where)
    if not isinstance(value, dict) or set(value) != {"base64"} or not isinstance(value["base64"], str):
        raise Bad("malformed", "%s: not a byte string" % where)
    try:
        raw = base64.b64decode(value["base64"], validate=True)
    except ValueError:
        raise Bad("malformed", "%s: invalid base64" % where)
    if base64.b64encode(raw).decode() != value["base64"]:
        raise Bad("malformed", "%s: non-canonical base64" % where)
    if is_utf8(raw):
        raise Bad("malformed", "%s: UTF-8 bytes written as base64" % where)
    return raw


def named(value, where):
    """[(name bytes, value)] of an object, or of the array of [name, value]
    pairs used when a name is not UTF-8 (sorted, unique, some name not UTF-8)."""
    if isinstance(value, dict):
        return sorted((byte_string(name, where), item) for name, item in value.items())
    if not isinstance(value, list):
        raise Bad("malformed", "%s: neither an object nor an array of pairs" % where)
    out = []
    for pair in value:
        if not isinstance(pair, list) or len(pair) != 2:
            raise Bad("malformed", "%s: not a [name, value] pair" % where)
        name = byte_string(pair[0], where)
        if out and not out[-1][0] < name:
            raise Bad("malformed", "%s: pairs not sorted by name bytes" % where)
        out.append((name, pair[1]))
    if all(is_utf8(name) for name, _ in out):
        raise Bad("malformed", "%s: an array although every name is UTF-8" % where)
    return out


def decode_request(body, line):
    """The request of an authorization body with byte strings as hex."""
    value = parse_canonical(body)
    try:
        request = value["request"]
        hexed = lambda item, where: byte_string(item, where).hex()
        out = {
            "program": hexed(request["program"], "program"),
            "argv0": hexed(request["argv0"], "argv0"),
            "args": [hexed(arg, "args") for arg in request["args"]],
            "cwd": hexed(request["cwd"], "cwd"),
            "env": [[name.hex(), hexed(item, "env")] for name, item in named(request["env"], "env")],
            "user": hexed(request["user"]["name"], "user.name"),
            "groups": [hexed(group, "user.groups") for group in request["user"]["groups"]],
            "host": hexed(request["host"], "host"),
            "env_hashed": [],
            "interpreter": hexed(value["interpreter"]["path"], "interpreter.path"),
        }
        for name, item in named(value["env_hashed"], "env_hashed"):
            if not is_digest(item):
                raise Bad("malformed", "env_hashed: a value that is not a digest")
            out["env_hashed"].append([name.hex(), item])
        parent = request["parent"]
        if parent is not None:
            out["parent"] = hexed(parent["program"], "parent.program")
        for name, item in request["context"].items():
            if not isinstance(item, (bool, int)):
                byte_string(item, "context." + name)
        for rule in value["rules"]:
            byte_string(rule["name"], "rules.name")
            byte_string(rule["reason"], "rules.reason")
        for key in ("read", "write", "create", "env", "capabilities"):
            for item in value["obligations"].get(key, []):
                byte_string(item, "obligations." + key)
    except Bad as bad:
        bad.line = line
        raise
    except (TypeError, KeyError) as error:
        raise Bad("malformed", "authorization body: %s" % error, line)
    return out


HEAD_KEYS = {
    "header": set(),
    "authorization": {"exec", "parent", "policy", "run", "verdict"},
    "start": {"run"},
    "end": {"run"},
    "checkpoint": set(),
    "recovery": set(),
}
COMMON = {"body", "log", "prev", "seq", "type", "v"}


def parse_head(data):
    """A HEAD dict, or raises ValueError."""
    head = parse_canonical(data)
    if not isinstance(head, dict):
        raise ValueError("HEAD is not a canonical JSON object")
    kind = head.get("type")
    if kind not in HEAD_KEYS:
        raise ValueError("HEAD: unknown type")
    if set(head) != COMMON | HEAD_KEYS[kind]:
        raise ValueError("HEAD: wrong set of keys for its type")
    for key, value in head.items():
        if key in ("seq", "v"):
            if type(value) is not int or value < 0 or value >= 10**18:
                raise ValueError("HEAD: %s must be a small non-negative integer" % key)
        elif key == "exec":
            if type(value) is not bool:
                raise ValueError("HEAD: exec must be a boolean")
        elif not isinstance(value, str) or any(ord(c) < 0x21 or ord(c) > 0x7E or c in '"\\' for c in value):
            raise ValueError("HEAD: %s must be printable ASCII without quotes or backslashes" % key)
    if head["v"] != 1:
        raise ValueError("HEAD: unsupported version")
    if not is_digest(head["body"]) or not is_digest(head["prev"]):
        raise ValueError("HEAD: body and prev must be digests")
    if not is_hex(head["log"], 32):
        raise ValueError("HEAD: bad log id")
    if "run" in head and not is_hex(head["run"], 32):
        raise ValueError("HEAD: bad run id")
    if kind == "authorization":
        if head["parent"] != "" and not is_hex(head["parent"], 32):
            raise ValueError("HEAD: bad parent")
        if not is_digest(head["policy"]):
            raise ValueError("HEAD: bad policy digest")
        if head["verdict"] not in ("allow", "deny", "ask"):
            raise ValueError("HEAD: bad verdict")
        if head["exec"] and head["verdict"] == "deny":
            raise ValueError("HEAD: a denied run cannot be executed")
    return head


def dsse_base64(text):
    """Bytes of a DSSE base64 text: the standard or the URL-safe alphabet (one
    per text), with its padding or none; unused bits zero. Raises ValueError."""
    if not isinstance(text, str):
        raise ValueError("base64 that is not a string")
    if any(c in "+/" for c in text) and any(c in "-_" for c in text):
        raise ValueError("base64 mixing both alphabets")
    standard = text.replace("-", "+").replace("_", "/")
    if "=" not in standard:
        standard += "=" * (-len(standard) % 4)
    raw = base64.b64decode(standard, validate=True)
    if base64.b64encode(raw).decode() != standard:
        raise ValueError("non-canonical base64")
    return raw


# --- RFC 9162 Merkle trees (docs/tlog.md "Merkle trees") --------------------
EMPTY_TREE = hashlib.sha256(b"").digest()


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def fold(subtrees):
    """MTH from the hashes of a tree's complete subtrees, left (largest) to right."""
    if not subtrees:
        return EMPTY_TREE
    result = subtrees[-1]
    for subtree in reversed(subtrees[:-1]):
        result = node_hash(subtree, result)
    return result


class MerkleTree:
    """Appends leaves one at a time, keeping only the complete subtrees of the
    tree's right edge; keeps the tree head at the sizes in `wanted`."""

    def __init__(self, wanted=()):
        self.size = 0
        self.stack = []  # [(level, hash)], levels decreasing
        self.wanted = set(wanted)
        self.kept = {0: EMPTY_TREE} if 0 in self.wanted else {}

    def append(self, data):
        level, value = 0, leaf_hash(data)
        while self.stack and self.stack[-1][0] == level:
            value = node_hash(self.stack.pop()[1], value)
            level += 1
        self.stack.append((level, value))
        self.size += 1
        if self.size in self.wanted:
            self.kept[self.size] = self.head()

    def head(self):
        return fold([value for _, value in self.stack])


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 section 2.1.3.2, step by step."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# --- Signed notes and checkpoints (c2sp.org/signed-note, tlog-checkpoint) ---
def canonical_base64(text):
    """Bytes of standard, padded, canonical base64. Raises ValueError."""
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("non-canonical base64")
    return raw


def parse_note(data):
    """(text bytes, [(key name, key id, signature)]) of a signed note: UTF-8
    without control characters but newline, the text ending at the last blank
    line, then 1 to 100 lines "— NAME BASE64". Raises ValueError."""
    decoded = data.decode("utf-8")  # strict: no overlongs, surrogates, > U+10FFFF
    if any(c != "\n" and unicodedata.category(c) == "Cc" for c in decoded):
        raise ValueError("a control character")
    split = data.rfind(b"\n\n")
    if split < 0:
        raise ValueError("no blank line before the signatures")
    text, signatures = data[: split + 1], data[split + 2 :]
    if not signatures.endswith(b"\n"):
        raise ValueError("no signature line, or the last one without a newline")
    lines = signatures[:-1].decode("utf-8").split("\n")
    if len(lines) > 100:
        raise ValueError("more than 100 signatures")
    out = []
    for line in lines:
        if not line.startswith("\u2014 "):
            raise ValueError("a signature line that does not start with an em dash and a space")
        parts = line[2:].split(" ")
        if len(parts) != 2:
            raise ValueError("a signature line that is not NAME BASE64")
        name, encoded = parts
        if not name or "+" in name or any(c.isspace() for c in name):
            raise ValueError("an invalid key name")
        raw = canonical_base64(encoded)
        if len(raw) < 5:
            raise ValueError("a signature shorter than 5 bytes")
        out.append((name, raw[:4], raw[4:]))
    return text, out


def note_key_id(name, public):
    return hashlib.sha256(name.encode("utf-8") + b"\n\x01" + public).digest()[:4]


def open_note(data, name, trusted):
    """The text of a note with a verifying signature by `name` with a pinned
    key; a signature by a pinned key that does not verify rejects the note,
    signatures by other keys (another name, or a key id no pinned key has
    under this name) are ignored. Raises Bad: malformed for a note that does
    not parse as a signed note, else signature (step 1)."""
    try:
        text, signatures = parse_note(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise Bad("malformed", "checkpoint note: %s" % error)
    keys = {}
    for public in trusted:
        keys.setdefault(note_key_id(name, public), set()).add(bytes(public))
    verified = False
    for signer, key_id, signature in signatures:
        if signer != name or key_id not in keys:
            continue
        if len(keys[key_id]) > 1:
            raise Bad("signature", "checkpoint note: two pinned keys have its signature's key id")
        if not ed25519_verify(next(iter(keys[key_id])), text, signature):
            raise Bad("signature", "checkpoint note: a signature by a pinned key does not verify")
        verified = True
    if not verified:
        raise Bad("signature", "checkpoint note: no signature by a pinned key")
    return text


def parse_checkpoint_text(text):
    """(origin, size, root hash, extension lines) of a checkpoint note's text
    (c2sp.org/tlog-checkpoint: three lines, then optional extension lines).
    Raises ValueError."""
    lines = text.decode("utf-8").split("\n")
    if lines[-1] != "" or len(lines) < 4 or "" in lines[:-1]:
        raise ValueError("not at least three non-empty lines")
    origin, size, root = lines[:3]
    if not size or any(c not in "0123456789" for c in size) or (size[0] == "0" and size != "0"):
        raise ValueError("a tree size that is not a decimal number")
    if int(size) >= 2**64:
        raise ValueError("a tree size beyond 64 bits")
    root = canonical_base64(root)
    if len(root) != 32:
        raise ValueError("a root hash that is not 32 bytes")
    return origin, int(size), root, lines[3:-1]


def peek_note_size(data):
    """The tree size a note claims (unverified), to keep that tree head."""
    try:
        return parse_checkpoint_text(parse_note(data)[0])[1]
    except (ValueError, UnicodeDecodeError):
        return None


# --- Tiles (c2sp.org/tlog-tiles, docs/tlog.md "Tiles") ----------------------
def tile_index_path(index):
    groups = []
    while True:
        groups.append("%03d" % (index % 1000))
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    return "/".join(["x" + group for group in groups[:-1]] + [groups[-1]])


def tile_file(directory, kind, index, width):
    """(path, bytes, own) of tile `kind` (a level, or "entries") number `index`
    at `width`: its own file (own True), or for a partial tile found gone its
    successor, the full tile or the narrowest wider partial. Raises Bad
    (chain) when none exists or it cannot be read."""
    base = os.path.join(directory, "tile", str(kind), tile_index_path(index))
    if width == 256:
        candidates = [base]
    else:
        candidates = ["%s.p/%d" % (base, width), base]
        candidates += ["%s.p/%d" % (base, wider) for wider in range(width + 1, 256)]
    # A hash tile is at most 256 * 32 bytes, an entry bundle at most 256 *
    # (2 + 65535); read one byte more to see a longer file.
    limit = 256 * (32 if kind != "entries" else 65537) + 1
    for path in candidates:
        try:
            with open(path, "rb") as tile:
                return path, tile.read(limit), path == candidates[0]
        except FileNotFoundError:
            continue
        except OSError as error:
            raise Bad("chain", "tile %s: %s" % (path, error))
    raise Bad("chain", "tile %s/%s of width %d is missing" % (kind, tile_index_path(index), width))


def entry_bundle(entries):
    """An entry bundle: each entry as a uint16 big-endian length and its bytes."""
    return b"".join(len(entry).to_bytes(2, "big") + entry for entry in entries)


def entry_bundle_prefix(data, count):
    """The bytes of the first `count` entries of entry bundle `data`, or None
    when it ends before them (a truncated length or entry)."""
    pos = 0
    for _ in range(count):
        if pos + 2 > len(data):
            return None
        pos += 2 + int.from_bytes(data[pos : pos + 2], "big")
        if pos > len(data):
            return None
    return data[:pos]


class TileChecker:
    """Step 4 of the transparency log's verification: every hash tile and
    entry bundle of the tree of size `size` in `directory` must be exactly the
    one the log's first `size` HEADs give. Streams the leaves into per-level
    buffers of at most 256 hashes (and level 0's HEADs): a buffer that fills
    is a full tile, compared at once, whose MTH is the next hash of the level
    above; when the tree reaches `size` the non-empty buffers are its partial
    tiles. Keeps the first difference in `problem` (reported after steps 1
    and 2)."""

    def __init__(self, directory, size):
        self.directory = directory
        self.size = size
        self.count = 0
        self.levels = []  # per tile level: [index of the tile being filled, [hashes]]
        self.entries = []  # the HEADs of the level 0 tile being filled
        self.problem = None

    def append(self, head_bytes):
        if self.count >= self.size:
            return
        self.count += 1
        if self.problem is not None:
            return
        self.entries.append(head_bytes)
        self.add(0, leaf_hash(head_bytes))
        if self.count == self.size and self.problem is None:
            for level, (index, hashes) in enumerate(self.levels):
                if hashes:
                    self.compare(level, index, hashes)
                if level == 0 and self.entries:
                    self.compare_entries(index, self.entries)

    def add(self, level, value):
        if level == len(self.levels):
            self.levels.append([0, []])
        index, hashes = self.levels[level]
        hashes.append(value)
        if len(hashes) < 256:
            return
        self.compare(level, index, hashes)
        if level == 0:
            self.compare_entries(index, self.entries)
            self.entries = []
        tree = hashes
        while len(tree) > 1:
            tree = [node_hash(tree[k], tree[k + 1]) for k in range(0, len(tree), 2)]
        self.levels[level] = [index + 1, []]
        self.add(level + 1, tree[0])

    def fail(self, message):
        if self.problem is None:
            self.problem = message

    def compare(self, level, index, hashes):
        """The tile's own file must be exactly its hashes; a successor read for
        a partial tile found gone must begin with them (its later bytes are
        hashes of a bigger tree, possibly still being appended)."""
        expected = b"".join(hashes)
        try:
            path, data, own = tile_file(self.directory, level, index, len(hashes))
        except Bad as bad:
            return self.fail(str(bad))
        if (data if own else data[: len(expected)]) != expected:
            self.fail("tile %s is not the log's tile %d/%s of width %d" % (path, level, tile_index_path(index), len(hashes)))

    def compare_entries(self, index, entries):
        """As compare, for the entry bundle of level 0 tile `index`."""
        expected = entry_bundle(entries)
        try:
            path, data, own = tile_file(self.directory, "entries", index, len(entries))
        except Bad as bad:
            return self.fail(str(bad))
        if (data if own else entry_bundle_prefix(data, len(entries))) != expected:
            first = index * 256
            self.fail("entry bundle %s does not hold the log's HEADs %d to %d" % (path, first, first + len(entries) - 1))


PREDICATE_MEMBERS = {"count", "head", "log", "runs"}
CHECKPOINT_TYPES = {"https://gov.dev/lineage/checkpoint/v1": 1, "https://gov.dev/lineage/checkpoint/v2": 2}


def open_checkpoint(body, trusted):
    """(log, count, head, root) of a checkpoint body, root None for a version 1
    statement; raises Bad. The envelope is read as a DSSE consumer: unknown
    members ignored, keyid optional."""
    root = parse_canonical(body)
    try:
        if not isinstance(root, dict) or set(root) != {"envelope"} or not isinstance(root["envelope"], dict):
            raise Bad("malformed", "checkpoint body: not {envelope: {...}}")
        envelope = root["envelope"]
        if envelope["payloadType"] != "application/vnd.in-toto+json":
            raise Bad("malformed", "checkpoint envelope: wrong payloadType")
        payload = dsse_base64(envelope["payload"])
        signatures = envelope["signatures"]
        if not isinstance(signatures, list) or not signatures:
            raise Bad("malformed", "checkpoint envelope: no signature")
        sigs = []
        for entry in signatures:
            if not isinstance(entry, dict):
                raise Bad("malformed", "checkpoint signature: not an object")
            raw = dsse_base64(entry["sig"])
            keyid = entry.get("keyid", "")
            if not isinstance(keyid, str) or (keyid != "" and not is_hex(keyid, 16)):
                raise Bad("malformed", "checkpoint signature: keyid neither empty nor 16 lower-case hex digits")
            sigs.append(raw)
    except (TypeError, KeyError, ValueError) as error:
        raise Bad("malformed", "checkpoint envelope: %s" % error)
    ptype = b"application/vnd.in-toto+json"
    pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(payload), payload)
    if not any(ed25519_verify(key, pae, sig) for sig in sigs for key in trusted):
        raise Bad("signature", "checkpoint signature does not verify with any trusted key")
    statement = parse_canonical(payload)
    try:
        if statement["_type"] != "https://in-toto.io/Statement/v1":
            raise Bad("malformed", "statement: wrong _type")
        version = CHECKPOINT_TYPES.get(statement["predicateType"])
        if version is None:
            raise Bad("malformed", "statement: wrong predicateType")
        predicate = statement["predicate"]
        # At least these members (step 3 of the transparency log; a version 1
        # predicate is the same without root); others are ignored.
        needed = PREDICATE_MEMBERS | ({"root"} if version == 2 else set())
        if not isinstance(predicate, dict) or not needed <= set(predicate):
            raise Bad("malformed", "statement: the predicate lacks one of %s" % ", ".join(sorted(needed)))
        log, count, head = predicate["log"], predicate["count"], predicate["head"]
        if not isinstance(predicate["runs"], list) or not all(isinstance(run, str) for run in predicate["runs"]):
            raise Bad("malformed", "statement: runs is not a list of strings")
        root = None
        if version == 2:
            root = predicate["root"]
            if not is_digest(root):
                raise Bad("malformed", "statement: root is not sha256: and 64 lower-case hex digits")
        elif "root" in predicate:
            raise Bad("malformed", "statement: a version 1 predicate with a root")
        subject = statement["subject"][0]
        if subject["name"] != "gov-lineage-log:" + log or "sha256:" + subject["digest"]["sha256"] != (root or head):
            raise Bad("malformed", "statement: the first subject is not the log %s" % ("tree head" if root else "head"))
    except (TypeError, KeyError, IndexError) as error:
        raise Bad("malformed", "statement: %s" % error)
    return log, count, head, root


# BODY members that repeat a HEAD member, by record type: (body path, HEAD key).
REPEATED = {
    "authorization": [
        (("run",), "run"),
        (("parent",), "parent"),
        (("verdict",), "verdict"),
        (("execute",), "exec"),
        (("policy", "digest"), "policy"),
    ],
    "start": [(("run",), "run")],
    "end": [(("run",), "run")],
}


def check_body(head, body, line):
    """A present BODY: canonical JSON, an object, and the members it shares
    with its HEAD equal to HEAD's (absent: malformed; different: chain)."""
    value = parse_canonical(body)
    if not isinstance(value, dict):
        raise Bad("malformed", "a body that is not a canonical JSON object", line)
    for path, key in REPEATED.get(head["type"], []):
        item = value
        for name in path:
            if not isinstance(item, dict) or name not in item:
                raise Bad("malformed", "the body lacks %s" % ".".join(path), line)
            item = item[name]
        if not same(item, head[key]):
            raise Bad("chain", "the body's %s differs from its HEAD's %s" % (".".join(path), key), line)


class Chain:
    """Checks chained records in order (shared by logs and bundles)."""

    def __init__(self, log_id, trusted, policy_digest, all_signatures, bundle, root=None, wanted=(), tiles=None):
        self.log_id = log_id
        self.trusted = trusted
        self.policy_digest = policy_digest
        self.all_signatures = all_signatures
        self.bundle = bundle
        self.root = root
        self.prev = None
        self.expected = 0
        self.runs = {}  # run -> [exec, started, ended]
        self.external_parents = set()
        self.last_checkpoint = None
        self.records = 0
        self.requests = []  # (run, decoded request) when --requests
        self.decode = False
        # A log's Merkle tree (a bundle holds only part of its log's leaves),
        # the type of the last record of each tree size in `wanted`, the
        # statement version of the last checkpoint checked, and the
        # TileChecker of a checkpoint note's tree.
        self.tree = None if bundle else MerkleTree(wanted)
        self.tiles = None if bundle else tiles
        self.kinds = {}
        self.last_version = None

    def record(self, head, head_bytes, body, line):
        if head["log"] != self.log_id:
            raise Bad("chain", "record of another log", line)
        if self.prev is not None or not self.bundle:
            if head["seq"] != self.expected:
                raise Bad("chain", "expected record %d, found %d" % (self.expected, head["seq"]), line)
            if head["prev"] != (self.prev or "sha256:" + "0" * 64):
                raise Bad("chain", "record %d does not link to the previous record" % head["seq"], line)
        self.prev = digest(head_bytes)
        self.expected = head["seq"] + 1
        self.records += 1
        tree_head = None
        if self.tree is not None:
            tree_head = self.tree.head() if head["type"] == "checkpoint" else None
            self.tree.append(head_bytes)
            if self.tree.size in self.tree.wanted:
                self.kinds[self.tree.size] = head["type"]
        if self.tiles is not None:
            self.tiles.append(head_bytes)
        if body is not None:
            check_body(head, body, line)
        kind = head["type"]
        if kind == "header" and head["seq"] != 0:
            raise Bad("chain", "a header after the start", line)
        if kind == "authorization":
            run, parent = head["run"], head["parent"]
            # Visible on any authorization HEAD, in a bundle's tree or not.
            if parent == run:
                raise Bad("chain", "an authorization names itself as its parent", line)
            if run in self.runs:
                raise Bad("chain", "run authorized twice", line)
            in_tree = True
            if not self.bundle and run in self.external_parents:
                raise Bad("chain", "run authorized after a child naming it as parent", line)
            if parent and parent not in self.runs:
                if not self.bundle:
                    self.external_parents.add(parent)  # recorded in another log
                in_tree = run == self.root
            if self.bundle and not parent and run != self.root:
                in_tree = False
            if self.bundle and in_tree and body is None:
                raise Bad("chain", "the bundle withholds a record of its tree", line)
            if self.bundle and not in_tree and body is not None:
                raise Bad("malformed", "the bundle carries a record outside its tree", line)
            if self.bundle and not in_tree:
                return
            self.runs[run] = [head["exec"], False, False]
            if self.decode:
                self.requests.append((run, decode_request(body, line)))
            if self.policy_digest is not None and head["policy"] != self.policy_digest:
                raise Bad("binding", "decided by another policy", line)
        elif kind in ("start", "end"):
            state = self.runs.get(head["run"])
            if state is None:
                if self.bundle:
                    if body is not None:
                        raise Bad("malformed", "the bundle carries a record outside its tree", line)
                    return
                raise Bad("chain", "%s without authorization" % kind, line)
            if self.bundle and body is None:
                raise Bad("chain", "the bundle withholds a record of its tree", line)
            if not state[0]:
                raise Bad("chain", "a run not executed has a %s record" % kind, line)
            if kind == "start":
                if state[1] or state[2]:
                    raise Bad("chain", "duplicate or late start", line)
                state[1] = True
            else:
                if state[2]:
                    raise Bad("chain", "run ends twice", line)
                state[2] = True
        elif kind == "checkpoint":
            if body is not None:
                self.last_checkpoint = (head["seq"], head["prev"], body, line, tree_head)
                if self.all_signatures:
                    self.check(self.last_checkpoint)
            elif not self.bundle:
                raise Bad("malformed", "checkpoint without body", line)

    def check(self, checkpoint):
        seq, prev, body, line, tree_head = checkpoint
        try:
            log, count, head, root = open_checkpoint(body, self.trusted)
        except Bad as bad:
            bad.line = line
            raise
        if log != self.log_id or count != seq or head != prev:
            raise Bad("chain", "the checkpoint signs another chain", line)
        if root is not None and tree_head is not None and root != "sha256:" + tree_head.hex():
            raise Bad("chain", "the checkpoint's root is not the tree head of the records before it", line)
        self.last_version = 1 if root is None else 2

    def finish(self):
        if self.last_checkpoint is None:
            if self.bundle or self.records > 1:
                raise Bad("signature", "no signed checkpoint")
            return
        if not self.all_signatures:
            self.check(self.last_checkpoint)
        if self.bundle and any(state[0] and not state[2] for state in self.runs.values()):
            raise Bad("chain", "the bundle does not carry the end of an executed run of its tree")


def split_lines(data):
    """[(offset, line bytes without LF, has LF)]."""
    out, pos = [], 0
    while pos < len(data):
        lf = data.find(b"\n", pos)
        if lf < 0:
            out.append((pos, data[pos:], False))
            break
        out.append((pos, data[pos:lf], True))
        pos = lf + 1
    return out


def verify_log(data, trusted, policy_digest, all_signatures, requests, wanted=(), tiles=None):
    """The verified log's Chain (its tree keeps the heads of the sizes in
    wanted; its leaves are streamed into `tiles`, a TileChecker)."""
    chain = None
    junk = None  # (offset, class, line)
    lines = split_lines(data)
    if not lines:
        raise Bad("malformed", "empty file")
    for number, (offset, line, has_lf) in enumerate(lines, 1):
        if not has_lf:
            raise Bad("chain", "torn last record", number)
        head_bytes, tab, body = line.partition(b"\t")
        problem = None
        head = None
        if not tab:
            problem = "malformed"
        else:
            try:
                head = parse_head(head_bytes)
            except ValueError:
                problem = "malformed"
            if head is not None and digest(body) != head["body"]:
                problem = "chain"
        if problem:
            if number == 1:  # step 2: an invalid first line fails with its class
                raise Bad(problem, "the first line is not a valid record", 1)
            if junk is None:
                junk = (offset, problem, number)
            continue
        if number == 1:
            if head["type"] != "header":
                raise Bad("malformed", "the log does not start with a header", 1)
            chain = Chain(head["log"], trusted, policy_digest, all_signatures, bundle=False, wanted=wanted, tiles=tiles)
            chain.decode = requests is not None
            if head["prev"] != "sha256:" + "0" * 64:
                raise Bad("chain", "record 0 does not start the chain", 1)
            header = parse_canonical(body)
            if (
                not isinstance(header, dict)
                or header.get("format") != "gov-lineage-log-v1"
                or header.get("log") != head["log"]
            ):
                raise Bad("malformed", "bad header body", 1)
        if head["type"] == "recovery":
            if junk is None:
                raise Bad("chain", "recovery without torn bytes", number)
            region = data[junk[0] : offset]
            expected = canonical({"offset": junk[0], "length": len(region), "sha256": digest(region)})
            if expected != body:
                raise Bad("chain", "recovery does not account for the torn bytes", number)
            junk = None
        elif junk is not None:
            raise Bad(junk[1], "invalid line", junk[2])
        if chain is None:
            raise Bad("chain", "record of another log", number)
        chain.record(head, head_bytes, body, number)
    if junk is not None:
        raise Bad(junk[1], "invalid line at the end", junk[2])
    if chain is None:
        raise Bad("malformed", "no record")
    chain.finish()
    if requests is not None:
        requests.extend(chain.requests)
    return chain


def verify_note(note, chain, trusted):
    """Steps 1, 2 and 4 of the transparency log's verification (step 3 is in
    Chain.check) for a log's checkpoint note and the tiles beside it (which
    chain.tiles compared while the log was read)."""
    origin, size, root = open_checkpoint_note(note, chain.log_id, trusted)
    if size > chain.records:
        raise Bad("chain", "the checkpoint note's tree has %d records, the log %d" % (size, chain.records))
    if chain.kinds.get(size) != "checkpoint":
        raise Bad("chain", "the last record of the checkpoint note's tree is not a checkpoint")
    if chain.tree.kept.get(size) != root:
        raise Bad("chain", "the checkpoint note's root is not the tree head of the log's first %d records" % size)
    if chain.tiles is None or chain.tiles.size != size or chain.tiles.count != size:
        raise Bad("chain", "the tiles of size %d were not checked" % size)  # not reached
    if chain.tiles.problem is not None:
        raise Bad("chain", chain.tiles.problem)


def open_checkpoint_note(note, log_id, trusted):
    """(origin, size, root) of a checkpoint note that verifies with a pinned
    lineage key as gov-lineage/<log id>, with that origin (step 1)."""
    name = "gov-lineage/" + log_id
    text = open_note(note, name, trusted)
    try:
        origin, size, root, extensions = parse_checkpoint_text(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise Bad("malformed", "checkpoint note: %s" % error)
    if origin != name:
        raise Bad("malformed", "checkpoint note: the origin is not %s" % name)
    if extensions:
        raise Bad("malformed", "checkpoint note: the checkpoint has extension lines")
    return origin, size, root


BUNDLE_KEYS = {
    "gov-lineage-bundle-v1": {"format", "log", "root"},
    "gov-lineage-bundle-v2": {"checkpoint", "format", "log", "proof", "root"},
}


def verify_bundle(data, trusted, policy_digest, all_signatures, requests):
    lines = split_lines(data)
    header = parse_canonical(lines[0][1]) if lines[0][2] else None
    if (
        not isinstance(header, dict)
        or not isinstance(header.get("format"), str)
        or set(header) != BUNDLE_KEYS.get(header["format"])
        or not is_hex(header["log"], 32)
        or not is_hex(header["root"], 32)
    ):
        raise Bad("malformed", "not a bundle header", 1)
    v2 = header["format"] == "gov-lineage-bundle-v2"
    if v2 and (
        not isinstance(header["checkpoint"], str)
        or not isinstance(header["proof"], list)
        or not all(is_hex(item, 64) for item in header["proof"])
    ):
        raise Bad("malformed", "not a bundle header: checkpoint is not a string or proof not a list of hashes", 1)
    chain = Chain(header["log"], trusted, policy_digest, all_signatures, bundle=True, root=header["root"])
    chain.decode = requests is not None
    last_signed = False
    for number, (offset, line, has_lf) in enumerate(lines[1:], 2):
        if not has_lf:
            raise Bad("chain", "truncated bundle", number)
        head_bytes, tab, body = line.partition(b"\t")
        try:
            head = parse_head(head_bytes)
        except ValueError as error:
            raise Bad("malformed", str(error), number)
        if not tab:
            body = None
        elif digest(body) != head["body"]:
            raise Bad("chain", "body does not match its digest", number)
        if number == 2 and (head["type"] != "authorization" or head["run"] != header["root"] or body is None):
            raise Bad("chain", "the first record is not the root's authorization", number)
        chain.record(head, head_bytes, body, number)
        last_signed = head["type"] == "checkpoint" and body is not None
        last = (head["seq"], head_bytes)
    if len(lines) < 2:
        raise Bad("chain", "no records")
    if not last_signed:
        raise Bad("chain", "does not end with a signed checkpoint")
    chain.finish()
    if not v2 and chain.last_version == 2:
        raise Bad("chain", "a version 2 checkpoint in a version 1 bundle: its note and proof were withheld")
    if v2:  # step 5
        _, size, root = open_checkpoint_note(header["checkpoint"].encode("utf-8"), header["log"], trusted)
        if size <= last[0]:
            raise Bad("chain", "the checkpoint note's tree does not include the last record")
        proof = [bytes.fromhex(item) for item in header["proof"]]
        if not verify_inclusion(last[0], size, leaf_hash(last[1]), proof, root):
            raise Bad("chain", "the inclusion proof does not lead to the checkpoint note's root")
    if requests is not None:
        requests.extend(chain.requests)


def verify(path, trusted, policy_digest, all_signatures, requests=None):
    is_dir = os.path.isdir(path)
    if is_dir:
        path = os.path.join(path, "lineage.log")
    data = open(path, "rb").read()
    if not data:
        raise Bad("malformed", "empty file")
    if data.startswith(b'{"format":') or data.startswith(b'{"checkpoint":'):
        verify_bundle(data, trusted, policy_digest, all_signatures, requests)
        return
    # The lineage_dir's checkpoint note, or one beside a log file named
    # lineage.log (a log file of another name is verified without a note).
    directory = os.path.dirname(path)
    note_path = os.path.join(directory, "checkpoint")
    note = None
    if is_dir or os.path.basename(path) == "lineage.log":
        note = open(note_path, "rb").read() if os.path.isfile(note_path) else None
    size = None if note is None else peek_note_size(note)
    tiles = None if size is None else TileChecker(directory, size)
    chain = verify_log(data, trusted, policy_digest, all_signatures, requests, () if size is None else (size,), tiles)
    if note is not None:
        verify_note(note, chain, trusted)
    elif is_dir and chain.last_version == 2:
        raise Bad("signature", "no checkpoint note in the directory although the last checkpoint is version 2")


def main(argv):
    trusted, paths, policy_digest, all_signatures, show_requests = [], [], None, False, False
    i = 0
    while i < len(argv):
        if argv[i] == "--trust":
            trusted.append(read_public_key(argv[i + 1]))
            i += 2
        elif argv[i] == "--policy-digest":
            policy_digest = argv[i + 1]
            i += 2
        elif argv[i] == "--all-signatures":
            all_signatures = True
            i += 1
        elif argv[i] == "--requests":
            show_requests = True
            i += 1
        else:
            paths.append(argv[i])
            i += 1
    if not trusted or not paths:
        print(__doc__, file=sys.stderr)
        return 64
    code = 0
    for path in paths:
        requests = [] if show_requests else None
        try:
            verify(path, trusted, policy_digest, all_signatures, requests)
            print("%s\tok\t" % path)
            for run, request in requests or []:
                print("request\t%s\t%s" % (run, json.dumps(request, sort_keys=True, separators=(",", ":"))))
        except Bad as bad:
            print("%s\t%s\tline %d: %s" % (path, bad.cls, bad.line, bad))
            code = code or EXIT[bad.cls]
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
