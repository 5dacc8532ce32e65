"""`route doctor` for people: the report `run/doctor.py` gathers, as aligned plain text."""

from __future__ import annotations

from typing import Any


def _columns(rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _paint(text: str, code: str, color: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if color else text


def _ping_text(ping: dict[str, Any] | None, color: bool) -> tuple[str, str]:
    if ping is None:
        return "", ""
    if ping.get("ok") is None:
        return "skipped", ping.get("skipped", "")
    if ping["ok"]:
        return _paint("ok", "32", color), f"{ping['latency_s']:.2f}s ({ping['model']})"
    status = f"HTTP {ping['status']} " if ping.get("status") and str(ping["status"]) not in ping["message"] else ""
    return _paint("FAILED", "31", color), f"{ping['error_kind']}: {status}{ping['message']} ({ping['model']})"


def render_text(report: dict[str, Any], color: bool) -> str:
    out: list[str] = [f"route {report['route_version']} (Python {report['python']})", ""]
    policy = report["policy"]
    out.append("Policy")
    out += _columns([[f["role"], f["path"]] for f in policy["files"]])
    if policy["ok"]:
        summary = f"{policy['models']} models, {policy['tasks']} tasks, {policy['profiles']} profiles"
        out.append(f"  {_paint('valid', '32', color)}: {summary}; default profile {policy['default_profile']}")
        if policy.get("untrusted"):
            out.append(f"  not applied until trusted (`route policy trust`): {policy['untrusted']}")
        if policy.get("key_routing"):
            where = ", ".join(policy["key_routing"])
            out.append(f"  {_paint('note', '33', color)}: ./routes.yaml (trusted) changes where keys are sent: {where}")
    else:
        origin = f" (named by {policy['from']})" if policy.get("from") else ""
        out.append(f"  {_paint('BROKEN', '31', color)}: {policy['error']}{origin}")
        if policy.get("providers_from"):
            out.append(f"  the providers below come from {policy['providers_from']}")
    out.append("")
    if report["providers"]:
        out.append("Providers")
        table = [["name", "wire", "kind", "base URL", "key"]]
        for row in report["providers"]:
            if row["local"]:
                discovery = row.get("discovery")
                shown = discovery if discovery in ("found", "not answering") else None
                kind = "local, " + (shown or ("enabled" if row["enabled"] else "off"))
                key = f"{row['key_env']}: {row['key'] or 'not set'}" if row["key_env"] else "none needed"
            else:
                kind = "remote"
                key = f"{row['key_env']}: {row['key'] if row['key_set'] else 'not set'}"
            url = row["base_url"] + (f" (from {row['base_url_from'][4:]})" if row["base_url_from"] != "policy" else "")
            table.append([row["name"], row["wire"], kind, url, key])
        out += _columns(table)
        out.append("")
    if report["pinged"] and report["providers"]:
        limit = report["ping_limits"]
        limits = f"{limit['connect_s']:g}s to connect, {limit['first_token_s']:g}s to first token"
        out.append(f"Ping (one token each; {limits})")
        out += _columns([[row["name"], *_ping_text(row.get("ping"), color)] for row in report["providers"]])
        out.append("")
    ledger = report["ledger"]
    out.append("Ledger")
    lines = [["path", ledger["path"] + (" (shared, PostgreSQL)" if ledger.get("shared") else "")]]
    if ledger.get("shared") and not ledger["exists"]:
        lines.append(["state", "not reachable: calls still run, their rows wait here until it is"])
    if ledger["exists"]:
        if ledger.get("size_bytes") is not None:
            lines.append(["size", f"{ledger['size_bytes']:,} bytes"])
        version = ledger["schema_version"]
        supported = ledger["supported_schema_version"]
        if version is not None:
            note = "" if version == supported else f" (this route: {supported}; migrated on the next write)"
            lines.append(["schema", f"version {version}{note}"])
        if ledger["rows"] is not None:
            lines.append(["rows", f"{ledger['rows']:,}"])
    elif not ledger.get("shared"):
        lines.append(["size", "not created yet (the first call creates it)"])
    if ledger["pending_rows"]:
        where = ", ".join(p["path"] for p in ledger["pending"])
        lines.append(["pending", f"{ledger['pending_rows']:,} rows waiting in {where} (the next run imports them)"])
    else:
        lines.append(["pending", "none"])
    if ledger["error"]:
        lines.append([_paint("ERROR", "31", color), ledger["error"]])
    out += _columns(lines)
    out.append("")
    out.append("Cooldowns")
    if report["cooldowns"]:
        out += _columns([[c["key"], c["reason"], f"{c['seconds_left']}s left"] for c in report["cooldowns"]])
    else:
        out.append("  none")
    out.append("")
    for warning in report["warnings"]:
        out.append(f"note: {warning}")
    if report["ok"]:
        out.append(_paint("No problems found." if report["warnings"] else "All is well.", "32", color))
    else:
        out.append(_paint(f"{len(report['problems'])} problem(s), exit {report['exit_code']}:", "31", color))
        out += [f"  - {problem}" for problem in report["problems"]]
    return "\n".join(out) + "\n"
