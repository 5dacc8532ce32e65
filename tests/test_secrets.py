"""The secret detector (routing/secrets.py): what it finds, where, what it leaves alone, and that a finding never
holds the value. Pure: no CLI, no provider."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from routecli.routing.inputs import Attachment, Request
from routecli.routing.secret_rules import SecretKind
from routecli.routing.secrets import SLICE, private_glob, scan, scan_text

REPO = Path(__file__).resolve().parents[1]
K = SecretKind

# Built from parts, so this file itself does not look like a leak to a scanner run over the repository.
PEM_BODY = "MIIEpAIBAAKCAQEAx3V7kq9Rz0fJm2bL8yQeT4wNcP1sHgUa6dVoXiYrZ5tKjB0n\nq8Wm3Lp7Rx2Ys9Tv4Ub6Nc1Ze5Hg0Jk"
AWS_SECRET = "Zt7QmR3xW9pL2vN8kB4sY6cF1dH5jG0a" + "Xq/Uo+Ti"  # 40 characters


def pem(label: str) -> str:
    return f"-----BEGIN {label}-----\n{PEM_BODY}\n-----END {label}-----\n"


POSITIVES = [
    (K.PRIVATE_KEY, pem("RSA PRIVATE KEY")),
    (K.PRIVATE_KEY, pem("EC PRIVATE KEY")),
    (K.PRIVATE_KEY, pem("OPENSSH PRIVATE KEY")),
    (K.PRIVATE_KEY, pem("PRIVATE KEY")),
    (K.PRIVATE_KEY, "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\nlQOYBGF" + PEM_BODY[:60] + "\n"),
    (K.GCP_SERVICE_ACCOUNT, json.dumps({"type": "service_account", "project_id": "acme-prod",
                                        "private_key": pem("PRIVATE KEY"), "client_email": "x@acme.iam"}, indent=2)),
    (K.AWS_ACCESS_KEY_ID, "[default]\naws_access_key_id = AKIA" + "QX7RZ4MBN2WLPT6Y\n"),
    (K.AWS_ACCESS_KEY_ID, "creds: ASIA" + "J3KD8F2MX0QWE7RT"),
    (K.AWS_SECRET_KEY, f"aws_secret_access_key = {AWS_SECRET}\n"),
    (K.AZURE_KEY, "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey="
     + base64.b64encode(bytes(range(64))).decode() + ";EndpointSuffix=core.windows.net"),
    (K.AZURE_KEY, "Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey="
     + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()),
    (K.GITHUB_TOKEN, "git clone https://x:ghp_" + "R8v2LkQ9wZ3mT5yH7nB1cX4dF6gJ0aS2pE8u@github.com/a/b"),
    (K.GITHUB_TOKEN, "GH=github_pat_" + "11AAQ3Z2Y0" + "Kq8Lw2Mx4Nv6Bc8Dz0Fa2Gs4Hd6Jf8Kg0Lh2Pj4Rk6Tl8Vm0Wn2Xp4"
     + "Yq6Zr8Sa0Tb2Uc4Vd6We8"),
    (K.GITLAB_TOKEN, "token: glpat-" + "Xy9Kq2Lm4Np6Rs8Tu0Vw"),
    (K.SLACK_TOKEN, "bot = 'xoxb-" + "2048113094-4412883195-Qm7Kx9Lp2Wz4Rt6Yv8Bn0Cd'"),
    (K.SLACK_TOKEN, "hook https://hooks.slack.com/services/T0" + "12AB3CD/B045EF6GH/Zx8Yw7Vu6Ts5Rq4Po3Nm2Lk1J"),
    (K.STRIPE_KEY, "Stripe.api_key = 'sk_live_" + "51HqXk2Lm9Np4Rs7Tu0Vw3Yz'"),
    (K.ANTHROPIC_KEY, "client = Anthropic(api_key='sk-ant-api03-" + "Hq7Xk2Lm9Np4Rs7Tu0Vw3Yz5Ab8Cd1Ef6Gh-Jk_Mn')"),
    (K.OPENAI_KEY, "OpenAI(api_key='sk-proj-" + "Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz2Xc4Vb6Nm8Qa0Ws')"),
    (K.OPENAI_KEY, "key sk-" + "Ab12Cd34Ef56Gh78Ij90T3BlbkFJKl12Mn34Op56Qr78St90"),
    (K.MISTRAL_KEY, "MISTRAL_API_KEY=" + "Lk8Jh6Gf4Ds2Aq9Wz7Xc5Vb3Nm1Po0Iu\n"),
    (K.GROQ_KEY, "GROQ=gsk_" + "Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5Yz7Ab9Cd1Ef3Gh5Ij7"),
    (K.HUGGINGFACE_TOKEN, "login(token='hf_" + "QmXkLp2Rz4Tv6Yw8Bn0Cd3Fg5Hj7Kl9Mn1')"),
    (K.GOOGLE_API_KEY, "https://maps.example/api?key=AIza" + "SyB7dK2mQ9xL4vN8pR1tW6yZ3cF5hJ0aGsE"),
    (K.GOOGLE_API_KEY, "Authorization: OAuth ya29." + "a0AfH6SMBx7Kq2Lm9Np4Rs7Tu0Vw3Yz5Ab8Cd1"),
    (K.XAI_KEY, "XAI=xai-" + "Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5Yz7Ab9Cd1Ef3Gh5Ij7Kl9Mn1Op3Qr5St7Uv9Wx"),
    (K.PACKAGE_TOKEN, "//registry.npmjs.org/:_authToken=npm_" + "Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5Y"),
    (K.JWT, "Cookie: session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIiwiYWRtaW4iOnRydWV9."
     + "Qm3Lk9Xz2Wv5Ty8Rp1Nb4Hc7Gd0Fe6Sa"),
    (K.URL_PASSWORD, "DATABASE_URL=postgres://u:Tr0ub4dor3x@h/db"),
    (K.URL_PASSWORD, "amqp://admin:Pr0d-Rabbit!@mq.internal:5672/"),
    (K.ASSIGNED_SECRET, "APP_NAME=shop\nNAME_SECRET=8f3Kq9Zx2Lm7Wv4Tp6Yr1Nb5\n"),
    (K.ASSIGNED_SECRET, "PASSWORD=Tr0ub4dor&3-horse"),
    (K.ASSIGNED_SECRET, "export TOKEN='c7F2kPz9QxLm4Wv8'"),
    (K.ASSIGNED_SECRET, '{"db": {"user": "app", "password": "q9Wz!r4Lx8#m"}}'),
    (K.ASSIGNED_SECRET, "database:\n  password: Kx9mQ2vLp7Rt\n"),
    (K.ASSIGNED_SECRET, "Hi! My API key is c9Fh2kLq8Zx3Vw7B and every call fails."),
    (K.ASSIGNED_SECRET, "laravel: APP_KEY=base64:2fl+Ktvkfl+Fuz4Qp/A75G2RTiWVA/ZoKZvp6fiiM10="),
    (K.AWS_SECRET_KEY, '{"AccessKeyIdx": 1, "SecretAccessKey": "' + AWS_SECRET + '"}'),
    (K.MISTRAL_KEY, "my mistral key is Qw3rTy7uIo9pAs1dFg5hJk2lZx8cVb4n, why a 401?"),
    (K.BEARER_TOKEN, "curl -H 'Authorization: Bearer 7Hk2Lm9Qx4Wz8Rt6Yv1Bn3Cd5Fg' https://api.example"),
]


def _value_tokens(text: str) -> list[str]:
    """The longest random-looking pieces of a sample: none of them may appear in a finding."""
    import re

    return [t for t in re.findall(r"[A-Za-z0-9+/_!#&-]{8,}", text) if any(c.isdigit() for c in t)]


@pytest.mark.parametrize(("kind", "text"), POSITIVES, ids=[f"{k.value}-{i}" for i, (k, _) in enumerate(POSITIVES)])
def test_each_kind_of_secret_is_found_with_its_line_and_never_its_value(kind, text):
    padded = "Some notes first.\nNothing here.\n" + text
    found = scan_text(padded.encode(), "file notes.txt")
    assert found, f"{kind.value} not found"
    first = found[0]
    assert first.kind is kind
    assert first.line is not None and first.line >= 3  # counted from the file's start, past the two notes
    assert first.where.startswith("file notes.txt line ")
    shown = f"{first.where} {first.what} {first.hint} {first!r}"
    for token in _value_tokens(text):
        if len(token) >= 12:
            assert token not in shown


NEGATIVES = {
    "uuids": "id = '123e4567-e89b-12d3-a456-426614174000'\nrequest_id: 550e8400-e29b-41d4-a716-446655440000\n",
    "git hashes": "commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 9fceb02d0ae598e95dc970b74767f19372d61af8\n",
    "base64 image": '<img src="data:image/png;base64,'
    + base64.b64encode(bytes(range(256)) * 8).decode() + '">',
    "lorem": "Lorem ipsum dolor sit amet, consectetur adipiscing elit. The key to a good token of thanks is to "
    "pass the secret of the password test to everyone. The key is to keep going; the token is invalid; the "
    "password is required; the secret was 42 years old.\n" * 20,
    "placeholders": "PASSWORD=changeme\nAPI_KEY=your-api-key-here\nTOKEN=<token>\nSECRET_KEY=${SECRET_KEY}\n"
    "OPENAI_API_KEY=sk-...\npassword: xxxxxxxx\nDB_URL=postgres://user:${DB_PASSWORD}@db/app\n"
    "SECRET=changeme123\nPASSWORD=Example-Passw0rd\nAPI_TOKEN=your_token_1234\n",
    "code": "token = tokens[0]\npassword = request.form['password']\nMAX_TOKENS = 4096\n"
    "api_key = os.environ.get('OPENAI_API_KEY')\nkey = self.cache_key(name)\nsecret = get_secret()\n"
    "PASSWORD_HASHER = django.contrib.auth.hashers.PBKDF2\nkey_env: ANTHROPIC_API_KEY\n"
    "GITHUB_TOKEN = 'github_token'\napi_key: str | None = None\n",
    "plain urls": "see https://example.com/path?x=1, http://localhost:8080/ and git@github.com:a/b.git\n",
    "a PEM header in prose": "A PEM file starts with -----BEGIN RSA PRIVATE KEY----- and ends with its END line.\n",
}


@pytest.mark.parametrize("name", list(NEGATIVES))
def test_ordinary_text_is_not_a_secret(name):
    assert scan_text(NEGATIVES[name].encode(), "x") == []


def test_routes_own_source_and_docs_hold_no_secrets():
    """Ordinary code and prose in quantity (every module, the changelog, the docs): no false positives. (The
    README is left out: its "Secrets stay home" section shows a password in a URL, on purpose.)"""
    files = [*sorted((REPO / "routecli").rglob("*.py")), REPO / "CHANGELOG.md", *sorted((REPO / "docs").glob("*.md"))]
    found = [(str(p), f.line, f.kind.value) for p in files for f in scan_text(p.read_bytes(), str(p))]
    assert found == []


def test_a_secret_past_the_first_slice_and_in_a_minified_line_is_found_on_its_line():
    filler = b"an ordinary line of text about revenue and models\n" * (SLICE // 50 + 10)
    lines = filler.count(b"\n")
    data = filler + b"x" * 300_000 + b' "k":"AKIA' + b"QX7RZ4MBN2WLPT6Y" + b'" ' + b"y" * 300_000 + b"\n"
    found = scan_text(data, "stdin")
    assert [(f.kind, f.line) for f in found] == [(K.AWS_ACCESS_KEY_ID, lines + 1)]


def test_a_private_key_whose_header_ends_a_slice_is_found():
    """Slices are cut at a line end: a PEM header on the last line of one still reads its body from the next."""
    header = b"-----BEGIN RSA PRIVATE KEY-----\n"
    filler = b"x" * 99 + b"\n"
    data = filler * ((SLICE - len(header)) // 100) + b"y" * ((SLICE - len(header)) % 100)
    data = data[:-1] + b"\n" if data else data
    data = data + header + PEM_BODY.encode() + b"\n" + filler * 10
    assert data.index(header) + len(header) == data.rfind(b"\n", 0, SLICE) + 1  # the header ends the first slice
    found = scan_text(data, "stdin")
    assert [(f.kind, f.line) for f in found] == [(K.PRIVATE_KEY, data[: data.index(header)].count(b"\n") + 1)]


def test_a_key_route_holds_is_a_secret_wherever_it_is():
    key = "plain-looking-value-7"  # no pattern would call it a key
    request = Request("summarize this", (Attachment("log.txt", f"a\nb\nauth {key} ok\n".encode(), "utf-8", 9),))
    assert scan(request) == ()
    found = scan(request, known_keys={"MISTRAL_API_KEY": key})
    assert [(f.kind, f.where, f.detail) for f in found] == [(K.KNOWN_KEY, "file log.txt line 3", "MISTRAL_API_KEY")]
    assert key not in repr(found)


def test_sources_are_named_the_prompt_stdin_and_file():
    aws = "AKIA" + "QX7RZ4MBN2WLPT6Y"
    request = Request(f"look: {aws}", (Attachment("stdin", f"\n{aws}".encode(), "utf-8", 21),
                                       Attachment("cfg/a.ini", f"\n\n{aws}".encode(), "utf-8", 22)), system=aws)
    assert [f.where for f in scan(request)] == [
        "the system prompt line 1", "the prompt line 1", "stdin line 2", "file cfg/a.ini line 3"
    ]


@pytest.mark.parametrize(
    ("name", "globs", "expected"),
    [
        ("notes/.env", ("*.env",), "*.env"),
        ("prod.env", ("*.env",), "*.env"),
        ("secrets/a/b.txt", ("secrets/**",), "secrets/**"),
        ("./secrets/b.txt", ("secrets/**",), "secrets/**"),
        ("deep/x/secrets/b.txt", ("**/secrets/**",), "**/secrets/**"),
        ("/srv/vault/k.pem", ("/srv/vault/*",), "/srv/vault/*"),
        ("README.md", ("*.env", "secrets/**"), None),
        ("not-secrets/b.txt", ("secrets/**",), None),
        ("config/a/b.yaml", ("config/*.yaml",), None),  # `*` stays in one folder
    ],
)
def test_private_globs_match_attached_paths(name, globs, expected):
    assert private_glob(name, globs, "/home/me/project") == expected


def test_an_absolute_glob_matches_a_relative_attachment(tmp_path):
    assert private_glob("keys/id.txt", (f"{tmp_path}/keys/*",), str(tmp_path)) == f"{tmp_path}/keys/*"
