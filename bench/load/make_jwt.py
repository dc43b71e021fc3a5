#!/usr/bin/python3
"""Makes the ES256 key pair and the token of bench/compare.sh's jwt scenario, at run time (no private key is committed).

  make_jwt.py --dir DIR [--hours 12]

Writes DIR/private.pem (P-256, PKCS#8), DIR/public.pem (SubjectPublicKeyInfo, what FastProxy and HAProxy verify
with) and DIR/token (one compact JWS, ES256, exp = now + hours). Signs with the openssl command line: ECDSA's DER
signature is turned into the JWS form, r and s as 32 bytes each (RFC 7518 3.4).
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import time


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def der_to_raw(der):
    """ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } -> r || s, each left-padded to 32 bytes."""
    def length(buf, i):
        n = buf[i]
        if n < 0x80:
            return n, i + 1
        count = n & 0x7F
        return int.from_bytes(buf[i + 1:i + 1 + count], "big"), i + 1 + count

    if der[0] != 0x30:
        raise ValueError("not a DER sequence")
    _, i = length(der, 1)
    out = b""
    for _ in range(2):
        if der[i] != 0x02:
            raise ValueError("not a DER integer")
        n, i = length(der, i + 1)
        value = der[i:i + n].lstrip(b"\x00")
        if len(value) > 32:
            raise ValueError("integer longer than 32 bytes")
        out += value.rjust(32, b"\x00")
        i += n
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--hours", type=float, default=12)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    private, public = os.path.join(args.dir, "private.pem"), os.path.join(args.dir, "public.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", private],
                   check=True, capture_output=True)
    os.chmod(private, 0o600)
    subprocess.run(["openssl", "pkey", "-in", private, "-pubout", "-out", public], check=True, capture_output=True)

    now = int(time.time())
    header = {"alg": "ES256", "typ": "JWT"}
    payload = {"sub": "bench", "iss": "fastproxy-bench", "iat": now, "nbf": now - 60, "exp": now + int(args.hours * 3600)}
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(payload, separators=(",", ":")).encode()))
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", private], input=signing_input.encode(),
                         check=True, capture_output=True).stdout
    token = signing_input + "." + b64url(der_to_raw(der))
    with open(os.path.join(args.dir, "token"), "w") as f:
        f.write(token)
    # Check it the way a verifier would: the raw signature back to DER, verified with the public key.
    raw = der_to_raw(der)
    r, s = raw[:32], raw[32:]

    def der_int(b):
        b = b.lstrip(b"\x00") or b"\x00"
        if b[0] & 0x80:
            b = b"\x00" + b
        return b"\x02" + bytes([len(b)]) + b

    body = der_int(r) + der_int(s)
    sig_path = os.path.join(args.dir, "check.sig")
    with open(sig_path, "wb") as f:
        f.write(b"\x30" + bytes([len(body)]) + body)
    subprocess.run(["openssl", "dgst", "-sha256", "-verify", public, "-signature", sig_path], input=signing_input.encode(),
                   check=True, capture_output=True)
    os.remove(sig_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
