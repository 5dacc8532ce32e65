"""What a secret looks like: one table of rules, each a few cheap anchors and a regex, read by `secrets.py`.

The token shapes are ported from Yelp's detect-secrets 1.5.0 (Apache-2.0; plugins aws, azure_storage_key,
basic_auth, github_token, gitlab_token, jwt, openai, private_key, slack, stripe, npm, pypi_token) and
from the providers' documented key formats, widened where a provider has since added a prefix. detect-secrets
itself is not a dependency: with its default plugins it scans ~0.16 MB/s, and its keyword and entropy plugins
flag ordinary code. Here each rule's anchors (plain, lower-case byte strings) are found with `bytes.find` at
memory speed, and the regex runs only on the line around an anchor.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from enum import Enum
from functools import cached_property

from routecli.values import frozen


class SecretKind(str, Enum):  # noqa: UP042 - a StrEnum would change how str() and format() render it
    KNOWN_KEY = "known_key"  # a key route itself holds (an environment key of a configured provider)
    PRIVATE_PATH = "private_path"  # a file the policy keeps local (privacy.local_only)
    GCP_SERVICE_ACCOUNT = "gcp_service_account"
    PRIVATE_KEY = "private_key"
    AWS_ACCESS_KEY_ID = "aws_access_key_id"
    AWS_SECRET_KEY = "aws_secret_key"
    AZURE_KEY = "azure_key"
    GITHUB_TOKEN = "github_token"
    GITLAB_TOKEN = "gitlab_token"
    SLACK_TOKEN = "slack_token"
    STRIPE_KEY = "stripe_key"
    ANTHROPIC_KEY = "anthropic_key"
    OPENAI_KEY = "openai_key"
    MISTRAL_KEY = "mistral_key"
    GROQ_KEY = "groq_key"
    HUGGINGFACE_TOKEN = "huggingface_token"
    GOOGLE_API_KEY = "google_api_key"
    XAI_KEY = "xai_key"
    PACKAGE_TOKEN = "package_token"
    JWT = "jwt"
    URL_PASSWORD = "url_password"
    BEARER_TOKEN = "bearer_token"
    ASSIGNED_SECRET = "assigned_secret"  # NAME_SECRET=..., PASSWORD: ..., "api_key": "..."

    @property
    def text(self) -> str:
        """For people: "an AWS secret access key"."""
        return _TEXT[self]


_TEXT = {
    SecretKind.KNOWN_KEY: "the API key in your environment",
    SecretKind.PRIVATE_PATH: "a file the policy keeps local",
    SecretKind.GCP_SERVICE_ACCOUNT: "a GCP service account private key",
    SecretKind.PRIVATE_KEY: "a private key",
    SecretKind.AWS_ACCESS_KEY_ID: "an AWS access key id",
    SecretKind.AWS_SECRET_KEY: "an AWS secret access key",
    SecretKind.AZURE_KEY: "an Azure connection string key",
    SecretKind.GITHUB_TOKEN: "a GitHub token",
    SecretKind.GITLAB_TOKEN: "a GitLab token",
    SecretKind.SLACK_TOKEN: "a Slack token",
    SecretKind.STRIPE_KEY: "a Stripe secret key",
    SecretKind.ANTHROPIC_KEY: "an Anthropic API key",
    SecretKind.OPENAI_KEY: "an OpenAI-style API key",
    SecretKind.MISTRAL_KEY: "a Mistral API key",
    SecretKind.GROQ_KEY: "a Groq API key",
    SecretKind.HUGGINGFACE_TOKEN: "a Hugging Face token",
    SecretKind.GOOGLE_API_KEY: "a Google API key",
    SecretKind.XAI_KEY: "an xAI API key",
    SecretKind.PACKAGE_TOKEN: "a package registry token",
    SecretKind.JWT: "a JSON web token",
    SecretKind.URL_PASSWORD: "a password in a URL",
    SecretKind.BEARER_TOKEN: "a bearer token",
    SecretKind.ASSIGNED_SECRET: "a secret value",
}

# Values that documentation and templates put where a secret goes: not secrets (see README, "Secrets").
_PLACEHOLDER_WORDS = ("changeme", "change_me", "change-me", "changeit", "example", "placeholder", "redacted",
                      "your", "dummy", "sample", "xxxx", "****", "<", ">", "${", "{{", "%(", "...")


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _classes(value: str) -> int:
    return sum((any(c.islower() for c in value), any(c.isupper() for c in value),
                any(c.isdigit() for c in value), any(not c.isalnum() and c not in "_-." for c in value)))


def placeholder(value: str) -> bool:
    low = value.lower()
    return value.startswith("$") or len(set(value)) <= 2 or any(word in low for word in _PLACEHOLDER_WORDS)


def random_enough(value: str) -> bool:
    """A generated key or a real password rather than a word, a number or a name in code."""
    return len(value) >= 8 and _classes(value) >= 2 and entropy(value) >= 2.8 and not placeholder(value)


_REFERENCE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+|[A-Z][A-Z0-9_]+")


def assigned_value(value: str) -> bool:
    """`PASSWORD=...`: a literal secret, not `os.environ.get`-style code, a constant's name or a placeholder."""
    return not _REFERENCE.fullmatch(value) and random_enough(value)


_SECRET_WORDS = {"SECRET", "SECRETS", "PASSWORD", "PASSWD", "PWD", "PASS", "TOKEN", "APIKEY", "PASSPHRASE",
                 "CREDENTIAL", "CREDENTIALS"}
_KEY_QUALIFIERS = {"API", "ACCESS", "PRIVATE", "AUTH", "SIGNING", "ENCRYPTION", "MASTER", "ACCOUNT", "CLIENT",
                   "SECRET", "SERVICE", "SESSION", "APP", "WEBHOOK", "LICENSE", "STORAGE", "SHARED", "CRYPTO"}


def secret_name(name: str) -> bool:
    """NAME_SECRET, DB_PASSWORD, apiKey, GITHUB_TOKEN, MISTRAL_API_KEY: a name that holds a secret."""
    words = re.split(r"[^A-Z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).upper())
    return bool(_SECRET_WORDS.intersection(words)) or ("KEY" in words and bool(_KEY_QUALIFIERS.intersection(words)))


@frozen
class Rule:
    """Either `anchors` (words found anywhere, lower case) or `prefixes` (how a token starts, lower case): the
    scanner runs `pattern` only on the line around one of them. Regexes are compiled on first use: a prompt
    that mentions no anchor pays for none of them."""

    kind: SecretKind
    source: str  # the regex; group "value" (or the whole match) is the secret
    flags: int = 0
    anchors: tuple[bytes, ...] = ()
    prefixes: tuple[bytes, ...] = ()  # the start of a run of [A-Za-z0-9_-] at least RULE_RUN long
    valid: Callable[[re.Match[str]], bool] | None = None
    near_source: bytes | None = None  # must match (lower case) right after an anchor, or the line is skipped
    spill: int = 0  # bytes the regex may read past the anchor's line (a PEM body starts on the next one)

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.source, self.flags)

    @cached_property
    def near(self) -> re.Pattern[bytes] | None:
        return None if self.near_source is None else re.compile(self.near_source)


RULE_RUN = 20  # the shortest token the prefix rules look for (an AWS access key id) is 20 characters long

def _value(match: re.Match[str]) -> str:
    return match.group("value") if "value" in match.re.groupindex else match.group(0)


def _random(match: re.Match[str]) -> bool:
    return random_enough(_value(match))


def _assigned(match: re.Match[str]) -> bool:
    return secret_name(match.group("name")) and assigned_value(match.group("value"))


# What documentation writes where a URL's password goes (`postgres://u:pass@h`): the word, not a password.
_URL_PLACEHOLDERS = frozenset({"pass", "password", "passwd", "pwd", "pw", "secret", "pass123", "p", "x"})


def _url_password(match: re.Match[str]) -> bool:
    value = match.group("value")
    if value.startswith(("$", "{", "<", "%")) or len(set(value)) == 1:
        return False
    return not (placeholder(value) or value.lower() in _URL_PLACEHOLDERS)


_B = r"(?<![A-Za-z0-9_-])"  # a token starts at a word edge
_E = r"(?![A-Za-z0-9_-])"
_BASE64_BODY = r"[\s\S]{0,300}?[A-Za-z0-9+/=]{40}"  # a header followed by key material, not a doc's mention


def _rule(kind: SecretKind, anchors: str, pattern: str, valid: Callable[[re.Match[str]], bool] | None = None,
          flags: int = 0, spill: int = 0, near: bytes | None = None) -> Rule:
    return Rule(kind, pattern, flags, tuple(a.encode() for a in anchors.split("|")), (), valid, near, spill)


def _token(kind: SecretKind, prefixes: str, pattern: str, valid: Callable[[re.Match[str]], bool] | None = None) -> Rule:
    return Rule(kind, pattern, 0, (), tuple(p.encode() for p in prefixes.split("|")), valid)


# NAME_SECRET= / "password": after the anchor word, or in prose "... key is <a word with a digit>"
_ASSIGNMENT = rb"[a-z0-9_.\-]{0,40}[\"']?\s{0,3}(?::=|=|:|(?:is|was)\s+[\"'`]?[^\s\"'`]{0,40}[0-9])"
_CREDENTIALS = rb"[^\s/@:'\"<>]{0,64}:[^\s/@'\"<>]{1,200}@"  # scheme:// then user:password@

# Order matters: on one line, the first rule that matches names the finding (the specific before the generic).
RULES: tuple[Rule, ...] = (
    _rule(SecretKind.GCP_SERVICE_ACCOUNT, "private key", r'"private_key"\s*:\s*"-----BEGIN[A-Z ]*PRIVATE KEY'
          + _BASE64_BODY, spill=400),
    _rule(SecretKind.PRIVATE_KEY, "private key|putty-user-key",
          r"-----BEGIN (?:(?:RSA|EC|DSA|OPENSSH|PGP|ENCRYPTED|SSH2 ENCRYPTED) )?PRIVATE KEY(?: BLOCK)?-----"
          + _BASE64_BODY + r"|PuTTY-User-Key-File-\d", spill=400),
    _token(SecretKind.AWS_ACCESS_KEY_ID, "akia|asia|abia|acca|a3t",
          _B + r"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[A-Z0-9]{16}" + _E),
    _rule(SecretKind.AWS_SECRET_KEY, "aws|secretaccesskey|secret_access_key",
          r"(?:aws.{0,20}?(?:secret|key|pwd|pw|password|pass|token)|secret_?access_?key).{0,20}?[=:]\s*[\"']?"
          r"(?P<value>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])", _random, flags=re.IGNORECASE),
    _rule(SecretKind.AZURE_KEY, "accountkey=|accesskey=",
          r"(?:AccountKey|SharedAccessKey)=(?P<value>[A-Za-z0-9+/]{30,}={0,2})", flags=re.IGNORECASE),
    _token(SecretKind.GITHUB_TOKEN, "ghp_|gho_|ghu_|ghs_|ghr_|github_pat_",
          _B + r"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})" + _E),
    _token(SecretKind.GITLAB_TOKEN, "glpat-|gldt-|glft-|glsoat-|glrt-|gr1348941|glcbt-|glimt-|glptt-|glagent-|gloas-",
          _B + r"(?:(?:glpat|gldt|glft|glsoat|glrt|glcbt|glimt|glptt|glagent|gloas)-|GR1348941)"
          r"[A-Za-z0-9_\-]{20,}" + _E),
    _rule(SecretKind.SLACK_TOKEN, "hooks.slack.com",
          r"hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+"),
    _token(SecretKind.SLACK_TOKEN, "xoxa|xoxb|xoxp|xoxo|xoxs|xoxr|xoxe|xapp",
           _B + r"(?:xox[abposre]-[0-9A-Za-z-]{10,}|xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+)"),
    _token(SecretKind.STRIPE_KEY, "sk_live_|sk_test_|rk_live_|rk_test_|whsec_",
          _B + r"(?:(?:sk|rk)_(?:live|test)_[0-9a-zA-Z]{20,}|whsec_[A-Za-z0-9]{24,})" + _E),
    _token(SecretKind.ANTHROPIC_KEY, "sk-ant-", _B + r"sk-ant-[A-Za-z0-9]+-[A-Za-z0-9_-]{20,}" + _E, _random),
    _token(SecretKind.OPENAI_KEY, "sk-",
          _B + r"sk-(?!ant-)(?:proj-|svcacct-|admin-)?(?P<value>[A-Za-z0-9_-]{20,})" + _E, _random),
    _rule(SecretKind.MISTRAL_KEY, "mistral",  # no prefix of its own: a 32-character key said to be Mistral's
          r"mistral.{0,40}?(?<![A-Za-z0-9])(?P<value>[A-Za-z0-9]{32})(?![A-Za-z0-9_-])", _random, flags=re.IGNORECASE),
    _token(SecretKind.GROQ_KEY, "gsk_", _B + r"gsk_[A-Za-z0-9]{40,}" + _E),
    _token(SecretKind.HUGGINGFACE_TOKEN, "hf_|api_org_", _B + r"(?:hf|api_org)_[A-Za-z0-9]{30,}" + _E, _random),
    _token(SecretKind.GOOGLE_API_KEY, "aiza", _B + r"AIza[0-9A-Za-z_-]{35}" + _E),
    _rule(SecretKind.GOOGLE_API_KEY, "ya29.", _B + r"ya29\.[0-9A-Za-z_-]{30,}" + _E),  # an OAuth access token
    _token(SecretKind.XAI_KEY, "xai-", _B + r"xai-[A-Za-z0-9]{60,}" + _E),
    _token(SecretKind.PACKAGE_TOKEN, "npm_|pypi-",
           _B + r"(?:npm_[A-Za-z0-9]{36}|pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{40,})"),
    _token(SecretKind.JWT, "eyj", _B + r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    _rule(SecretKind.URL_PASSWORD, "://",
          r"[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:/@'\"<>]*:(?P<value>[^\s/@'\"<>]+)@[A-Za-z0-9\[]", _url_password,
          near=_CREDENTIALS),
    _rule(SecretKind.BEARER_TOKEN, "bearer", r"(?i:bearer)\s+(?P<value>[A-Za-z0-9._~+/-]{20,}=*)", _random),
    _rule(SecretKind.ASSIGNED_SECRET, "secret|pass|pwd|token|key|credential",
          r"(?:^|(?<=[\s{,;(]))(?:export\s+)?[\"']?(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)[\"']?\s*(?::=|=|:)\s*"
          r"(?P<q>[\"']?)(?P<value>[^\s\"'`,;(){}\[\]]{8,})(?P=q)(?=\s|$|[,;}#])", _assigned,
          near=_ASSIGNMENT),
    _rule(SecretKind.ASSIGNED_SECRET, "secret|pass|pwd|token|key|credential",  # "my API key is ...", in prose
          r"(?i:\b(?P<name>(?:api|access|secret|private|auth)[ _-]?(?:key|token)|password|passphrase|passwd|token"
          r"|secret)\s+(?:is|was)\s*:?\s+)(?P<q>[\"'`]?)(?P<value>[^\s\"'`,;(){}\[\]]*[^\s\"'`,;(){}\[\].!?])(?P=q)"
          r"(?=\s|$|[.,;!?)])", _assigned, near=_ASSIGNMENT),
)


def value_of(match: re.Match[str]) -> str:
    return _value(match)
