#!/usr/bin/env python3
"""Makes the TLS tests' certificates with the `openssl` command, into OUTDIR (nothing here is
committed; every run makes fresh keys). EC P-256 keys: quick to make and to handshake with.

  ca.pem                  the test root CA (clients trust it)
  intermediate.pem        an intermediate CA signed by it; server certificates are signed by this
  server.pem server.key   "localhost" + 127.0.0.1 + ::1, leaf only (the chain is separate)
  chain.pem               intermediate.pem (TlsOptions::chain_file)
  fullchain.pem           server.pem then intermediate.pem (cert_file with its chain)
  renewed.pem renewed.key a second server certificate for the same names (reload)
  alpha.pem alpha.key     SNI: "alpha.test" (full chain)
  beta.pem beta.key       SNI: "*.beta.test" (full chain)
  expired.pem expired.key expired in 2020 (start-up must refuse it)
  wrong.key               a key that fits none of the certificates
  client.pem client.key   mutual TLS: CN=alice,O=wisp tests, signed by ca.pem
  stranger.pem stranger.key  a client certificate from a CA the server does not trust
  garbage.pem             not PEM at all

Usage: make_certs.py OUTDIR [--stamp FILE]
"""
import os
import subprocess
import sys
import tempfile

out = os.path.abspath(sys.argv[1])
stamp = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--stamp" else None
os.makedirs(out, exist_ok=True)
work = tempfile.mkdtemp(prefix="wisp-certs-")


def openssl(*args, cwd=None):
    r = subprocess.run(["openssl", *args], cwd=cwd or work, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"make_certs.py: openssl {' '.join(args)} failed:\n{r.stderr}")


def path(name):
    return os.path.join(out, name)


def key(name):
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path(name))


def ext_file(text):
    f = os.path.join(work, f"ext{abs(hash(text))}.cnf")
    with open(f, "w") as fh:
        fh.write(text)
    return f


CA_EXT = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n" \
         "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n"


def server_ext(names):
    alt = ",".join(names)
    return ("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
            f"extendedKeyUsage=serverAuth\nsubjectAltName={alt}\n")


CLIENT_EXT = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n"


def root(name, cn):
    key(name + ".key")
    openssl("req", "-x509", "-new", "-key", path(name + ".key"), "-out", path(name + ".pem"),
            "-subj", f"/CN={cn}", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def signed(name, subj, ca, ext, days="30"):
    key(name + ".key")
    csr = os.path.join(work, name + ".csr")
    openssl("req", "-new", "-key", path(name + ".key"), "-out", csr, "-subj", subj)
    openssl("x509", "-req", "-in", csr, "-CA", path(ca + ".pem"), "-CAkey", path(ca + ".key"),
            "-CAcreateserial", "-out", path(name + ".pem"), "-days", days, "-extfile", ext_file(ext))


def cat(target, *names):
    with open(path(target), "w") as f:
        for n in names:
            with open(path(n)) as g:
                f.write(g.read())


root("ca", "wisp test root CA")
signed("intermediate", "/CN=wisp test intermediate CA", "ca", CA_EXT)
LOCAL = ["DNS:localhost", "IP:127.0.0.1", "IP:::1"]
signed("server", "/CN=localhost/O=wisp tests", "intermediate", server_ext(LOCAL))
cat("chain.pem", "intermediate.pem")
cat("fullchain.pem", "server.pem", "intermediate.pem")
signed("renewed", "/CN=localhost/O=wisp tests renewed", "intermediate", server_ext(LOCAL))
cat("renewed-fullchain.pem", "renewed.pem", "intermediate.pem")
signed("alpha_leaf", "/CN=alpha.test", "intermediate", server_ext(["DNS:alpha.test"]))
cat("alpha.pem", "alpha_leaf.pem", "intermediate.pem")
os.replace(path("alpha_leaf.key"), path("alpha.key"))
signed("beta_leaf", "/CN=*.beta.test", "intermediate", server_ext(["DNS:*.beta.test"]))
cat("beta.pem", "beta_leaf.pem", "intermediate.pem")
os.replace(path("beta_leaf.key"), path("beta.key"))
for n in ("alpha_leaf.pem", "beta_leaf.pem"):
    os.remove(path(n))
signed("client", "/CN=alice/O=wisp tests", "ca", CLIENT_EXT)
root("stranger_ca", "a CA nobody trusts")
signed("stranger", "/CN=mallory", "stranger_ca", CLIENT_EXT)

# Expired: `openssl ca` sets explicit dates (x509 -req only counts days from now).
key("expired.key")
csr = os.path.join(work, "expired.csr")
openssl("req", "-new", "-key", path("expired.key"), "-out", csr, "-subj", "/CN=localhost/O=expired")
db = os.path.join(work, "db")
os.makedirs(db)
open(os.path.join(db, "index.txt"), "w").close()
with open(os.path.join(db, "serial"), "w") as f:
    f.write("1000\n")
with open(os.path.join(work, "ca.cnf"), "w") as f:
    f.write(f"""[ca]
default_ca = test
[test]
database = {db}/index.txt
serial = {db}/serial
new_certs_dir = {db}
default_md = sha256
policy = any
copy_extensions = none
x509_extensions = leaf
[any]
commonName = supplied
organizationName = optional
[leaf]
basicConstraints = CA:FALSE
subjectAltName = DNS:localhost,IP:127.0.0.1
""")
openssl("ca", "-batch", "-config", os.path.join(work, "ca.cnf"), "-in", csr,
        "-cert", path("intermediate.pem"), "-keyfile", path("intermediate.key"),
        "-startdate", "20200101000000Z", "-enddate", "20200201000000Z", "-notext",
        "-out", path("expired.pem"))
key("wrong.key")
with open(path("garbage.pem"), "w") as f:
    f.write("this is not a certificate\n")
for k in os.listdir(out):
    if k.endswith(".key"):
        os.chmod(path(k), 0o600)
import shutil
shutil.rmtree(work, ignore_errors=True)
if stamp:
    with open(stamp, "w") as f:
        f.write("ok\n")
